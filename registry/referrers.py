"""Referrers of a subject, found from the `subject` field of a repository's manifests.

Storage holds no referrers index in the registry:2 layout, so the revisions are read and
parsed. Manifests are immutable by digest, so each one's parsed summary is kept in a bounded
cache; revision links are still listed on every call, so a deleted manifest never appears.
"""

from __future__ import annotations

from collections import OrderedDict

from registry.digest import Digest
from registry.manifest import Descriptor, ManifestInvalid, parse, sniff_media_type
from storage.errors import ManifestUnknown
from storage.layout import RegistryStore

_CACHE_SIZE = 8192


class Referrers:
    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self._summaries: OrderedDict[Digest, tuple[Digest | None, Descriptor]] = OrderedDict()

    async def _summary(self, name: str, digest: Digest) -> tuple[Digest | None, Descriptor]:
        cached = self._summaries.get(digest)
        if cached is not None:
            self._summaries.move_to_end(digest)
            return cached
        data = await self.store.manifests.get(name, digest)
        try:
            manifest = parse(data)
        except ManifestInvalid:
            summary: tuple[Digest | None, Descriptor] = (
                None,
                Descriptor(sniff_media_type(data), digest, len(data)),
            )
        else:
            descriptor = Descriptor(
                manifest.media_type,
                digest,
                len(data),
                manifest.referrer_artifact_type(),
                manifest.annotations,
            )
            summary = (manifest.subject.digest if manifest.subject else None, descriptor)
        self._summaries[digest] = summary
        while len(self._summaries) > _CACHE_SIZE:
            self._summaries.popitem(last=False)
        return summary

    async def of(
        self, name: str, subject: Digest, artifact_type: str | None = None
    ) -> list[Descriptor]:
        found = []
        for digest in await self.store.manifests.digests(name):
            try:
                points_at, descriptor = await self._summary(name, digest)
            except ManifestUnknown:
                continue
            if points_at != subject:
                continue
            if artifact_type is not None and descriptor.artifact_type != artifact_type:
                continue
            found.append(descriptor)
        return sorted(found, key=lambda d: str(d.digest))
