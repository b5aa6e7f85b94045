"""Writes the model index: one row per manifest, plus its tags and layers.

Called after storage has committed a manifest. Indexing never fails a push: any error is
logged and the repository is marked for `modelyard reindex`. With a `Source` (events
enabled), each change writes its push, tag or delete event in the same transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from registry.digest import Digest
from registry.index.db import Database
from registry.index.events import (
    DELETE,
    PUSH,
    TAG,
    Event,
    Origin,
    Source,
    Target,
    new_event,
    write_events,
)
from registry.index.extract import extract_record
from registry.index.semver import parse_semver
from registry.manifest import Descriptor, Manifest
from storage.errors import BlobUnknown
from storage.layout import RegistryStore

log = logging.getLogger("modelyard.index")

CONFIG_LIMIT = 16 << 20

UPSERT_MANIFEST = """
INSERT INTO manifests (
    repository, digest, media_type, artifact_type, config_media_type, config_digest,
    subject_digest, manifest_size, total_size, family, name, version, semver_major,
    semver_minor, semver_patch, semver_pre, description, authors, licenses, framework,
    model_format, architecture, parameter_count, precision, quantization, metrics,
    hyperparameters, signature, hardware, source, labels, extra, annotations, created,
    raw_config, parse_errors)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)
ON CONFLICT (repository, digest) DO UPDATE SET
    media_type = EXCLUDED.media_type, artifact_type = EXCLUDED.artifact_type,
    config_media_type = EXCLUDED.config_media_type, config_digest = EXCLUDED.config_digest,
    subject_digest = EXCLUDED.subject_digest, manifest_size = EXCLUDED.manifest_size,
    total_size = EXCLUDED.total_size, family = EXCLUDED.family, name = EXCLUDED.name,
    version = EXCLUDED.version, semver_major = EXCLUDED.semver_major,
    semver_minor = EXCLUDED.semver_minor, semver_patch = EXCLUDED.semver_patch,
    semver_pre = EXCLUDED.semver_pre, description = EXCLUDED.description,
    authors = EXCLUDED.authors, licenses = EXCLUDED.licenses, framework = EXCLUDED.framework,
    model_format = EXCLUDED.model_format, architecture = EXCLUDED.architecture,
    parameter_count = EXCLUDED.parameter_count, precision = EXCLUDED.precision,
    quantization = EXCLUDED.quantization, metrics = EXCLUDED.metrics,
    hyperparameters = EXCLUDED.hyperparameters, signature = EXCLUDED.signature,
    hardware = EXCLUDED.hardware, source = EXCLUDED.source, labels = EXCLUDED.labels,
    extra = EXCLUDED.extra, annotations = EXCLUDED.annotations, created = EXCLUDED.created,
    raw_config = EXCLUDED.raw_config, parse_errors = EXCLUDED.parse_errors
"""


def _created(record: dict[str, Any]) -> datetime | None:
    created = record["created"]
    return datetime.fromisoformat(created) if created else None


def layers_of(manifest: Manifest) -> list[Descriptor]:
    return list(manifest.layers) or list(manifest.manifests)


class ModelIndex:
    def __init__(
        self, database: Database, store: RegistryStore, source: Source | None = None
    ) -> None:
        self.database = database
        self.store = store
        #: the instance events are written as; None when events are disabled
        self.source = source

    def _event(self, action: str, target: Target, origin: Origin | None) -> list[Event]:
        if self.source is None or origin is None:
            return []
        return [new_event(action, target, origin, self.source)]

    async def _config(self, manifest: Manifest) -> bytes | None:
        if manifest.config is None or manifest.config.size > CONFIG_LIMIT:
            return None
        try:
            return await self.store.blobs.get(manifest.config.digest)
        except BlobUnknown:
            return None

    async def row(self, name: str, digest: Digest, data: bytes, manifest: Manifest) -> list[Any]:
        """The values of UPSERT_MANIFEST for a manifest (live indexing and reindex alike)."""
        config = await self._config(manifest)
        record = extract_record(json.loads(data), config).to_json()
        version = parse_semver(record["version"])
        raw_config = None
        if config is not None:
            try:
                raw_config = config.decode("utf-8").replace("\x00", "")
            except UnicodeDecodeError:
                raw_config = None
        total = len(data) + sum(d.size for d in layers_of(manifest))
        total += manifest.config.size if manifest.config else 0
        return [
            name,
            str(digest),
            manifest.media_type,
            manifest.artifact_type,
            manifest.config.media_type if manifest.config else None,
            str(manifest.config.digest) if manifest.config else None,
            str(manifest.subject.digest) if manifest.subject else None,
            len(data),
            total,
            record["family"],
            record["name"],
            record["version"],
            version.major if version else None,
            version.minor if version else None,
            version.patch if version else None,
            version.prerelease if version else None,
            record["description"],
            record["authors"],
            record["licenses"],
            record["framework"],
            record["model_format"],
            record["architecture"],
            record["parameter_count"],
            record["precision"],
            record["quantization"],
            record["metrics"],
            record["hyperparameters"],
            record["signature"],
            record["hardware"],
            record["source"],
            record["labels"],
            record["extra"],
            manifest.annotations,
            _created(record),
            raw_config,
            record["parse_errors"],
        ]

    async def manifest_pushed(
        self,
        name: str,
        digest: Digest,
        data: bytes,
        manifest: Manifest,
        tag: str | None,
        origin: Origin | None = None,
    ) -> None:
        row = await self.row(name, digest, data, manifest)
        target = Target(name, str(digest), manifest.media_type, len(data), tag or "")
        events = self._event(PUSH, target, origin)
        layers = [
            (name, str(digest), position, d.media_type, str(d.digest), d.size, d.annotations)
            for position, d in enumerate(layers_of(manifest))
        ]
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO repositories (name) VALUES ($1) ON CONFLICT (name) DO UPDATE"
                " SET updated_at = now()",
                name,
            )
            await connection.execute(UPSERT_MANIFEST, *row)
            await connection.execute(
                "DELETE FROM layers WHERE repository = $1 AND manifest_digest = $2",
                name,
                str(digest),
            )
            await connection.executemany(
                "INSERT INTO layers (repository, manifest_digest, position, media_type, digest,"
                " size, annotations) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                layers,
            )
            if tag is not None:
                previous = await connection.fetchval(
                    "SELECT digest FROM tags WHERE repository = $1 AND tag = $2 FOR UPDATE",
                    name,
                    tag,
                )
                await connection.execute(
                    "INSERT INTO tags (repository, tag, digest) VALUES ($1, $2, $3)"
                    " ON CONFLICT (repository, tag) DO UPDATE"
                    " SET digest = EXCLUDED.digest, updated_at = now()",
                    name,
                    tag,
                    str(digest),
                )
                if previous != str(digest):
                    events += self._event(TAG, target, origin)
            await write_events(connection, events)

    async def safely(self, name: str, change: Awaitable[None]) -> None:
        """Apply an index change; on failure log it and mark the repository for reindex."""
        try:
            await change
        except Exception as exc:
            log.exception("indexing %s failed; marked for reindex", name)
            try:
                await self.mark_for_reindex(name, f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("cannot mark %s for reindex", name)

    async def tag_deleted(self, name: str, tag: str, origin: Origin | None = None) -> None:
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT 1 FROM repositories WHERE name = $1 FOR UPDATE", name)
            digest = await connection.fetchval(
                "DELETE FROM tags WHERE repository = $1 AND tag = $2 RETURNING digest", name, tag
            )
            target = Target(name, digest or "", tag=tag)
            await write_events(connection, self._event(DELETE, target, origin))

    async def manifest_deleted(
        self, name: str, digest: Digest, origin: Origin | None = None
    ) -> None:
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT 1 FROM repositories WHERE name = $1 FOR UPDATE", name)
            await connection.execute(
                "DELETE FROM tags WHERE repository = $1 AND digest = $2", name, str(digest)
            )
            deleted = await connection.fetchrow(
                "DELETE FROM manifests WHERE repository = $1 AND digest = $2"
                " RETURNING media_type, manifest_size",
                name,
                str(digest),
            )
            target = Target(name, str(digest))
            if deleted is not None:
                target = Target(name, str(digest), deleted["media_type"], deleted["manifest_size"])
            await write_events(connection, self._event(DELETE, target, origin))

    async def mark_for_reindex(self, name: str, error: str) -> None:
        await self.database.pool.execute(
            "INSERT INTO repositories (name, needs_reindex, last_error) VALUES ($1, true, $2)"
            " ON CONFLICT (name) DO UPDATE SET needs_reindex = true, last_error = $2,"
            " updated_at = now()",
            name,
            error[:2000],
        )

    async def referrers(
        self, name: str, subject: Digest, artifact_type: str | None
    ) -> list[Descriptor] | None:
        """Referrers from the index, or None when the index may be incomplete for `name`."""
        async with self.database.pool.acquire() as connection:
            state = await connection.fetchrow(
                "SELECT needs_reindex FROM repositories WHERE name = $1", name
            )
            if state is None or state["needs_reindex"]:
                return None
            rows = await connection.fetch(
                "SELECT digest, media_type, manifest_size,"
                " coalesce(artifact_type, config_media_type) AS kind, annotations"
                " FROM manifests WHERE repository = $1 AND subject_digest = $2"
                " AND ($3::text IS NULL OR coalesce(artifact_type, config_media_type) = $3)"
                " ORDER BY digest",
                name,
                str(subject),
                artifact_type,
            )
        return [
            Descriptor(
                row["media_type"],
                Digest.parse(row["digest"]),
                row["manifest_size"],
                row["kind"],
                row["annotations"] or {},
            )
            for row in rows
        ]
