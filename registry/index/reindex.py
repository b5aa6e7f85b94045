"""Rebuild the model index from storage: `modelyard reindex`.

Storage is the truth; the index rows (repositories, manifests, tags, layers) are derived from
it. A reindex walks the registry:2 layout (every repository holding `_manifests`, each
manifest revision, each tag's `current/link`) and, per repository in one transaction, upserts
what storage holds, deletes the rows storage no longer holds, and clears `needs_reindex`.
Rows of repositories that are gone from storage are removed. Rows are built by the same code
live indexing uses, so a rebuilt index equals the live one (timestamps aside).

Safe while servers are serving. Manifest rows are read from storage before the transaction
(the slow part); the transaction then locks the repository row and every index row of the
repository, lists storage again and writes. Live indexing takes the same repository row lock
before writing a push, so a push either lands in storage before the second listing (and is
seen) or is indexed after the commit; an index delete either ran before the locks (storage
was changed earlier, so the listing agrees) or waits for the commit. The one window left is
a manifest that was missing from the index and is deleted from storage during that
repository's transaction: its row may outlive it until the next reindex.

A manifest that cannot be read or parsed is logged, counted and left out (with its tags);
it never aborts the run. A repository whose storage or database fails is rolled back,
marked for reindex, counted as failed, and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

import anyio
import asyncpg

from registry.config import Config
from registry.digest import Digest
from registry.index.db import Database
from registry.index.indexer import UPSERT_MANIFEST, ModelIndex, layers_of
from registry.manifest import parse
from storage import paths
from storage.errors import (
    BlobUnknown,
    ManifestUnknown,
    PathNotFound,
    RepositoryUnknown,
    StorageError,
)
from storage.factory import create_driver
from storage.layout import RegistryStore
from storage.repositories import exists, repository_names

log = logging.getLogger("modelyard.reindex")

#: storage reads in flight at once while reading one repository's manifests and tags
CONCURRENCY = 16
#: attempts of one repository's transaction when PostgreSQL reports a deadlock
ATTEMPTS = 3

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class RepositoryResult:
    """What the reindex did to one repository."""

    name: str
    manifests: int = 0
    tags: int = 0
    #: manifests that could not be read or parsed, plus 1 if the repository failed
    errors: int = 0
    #: the repository exists in storage
    present: bool = True
    #: gone from storage while the index still had rows of it: they were deleted
    removed: bool = False
    #: storage or database failed; rolled back and marked for reindex
    failed: bool = False


@dataclass(frozen=True)
class ReindexProgress:
    """Reported after each repository: `position` of `total` done."""

    position: int
    total: int
    result: RepositoryResult


Progress = Callable[[ReindexProgress], None]


@dataclass(frozen=True)
class ReindexSummary:
    repositories: int
    manifests: int
    tags: int
    errors: int
    removed: int
    seconds: float
    failed: tuple[str, ...] = ()

    def line(self) -> str:
        removed = f" ({self.removed} removed)" if self.removed else ""
        failed = f", failed: {', '.join(self.failed)}" if self.failed else ""
        return (
            f"reindexed {self.repositories} repositories{removed}, {self.manifests} manifests,"
            f" {self.tags} tags, {self.errors} errors in {self.seconds:.2f} s{failed}"
        )


@dataclass
class _Built:
    """Index rows of one manifest, read from storage."""

    row: list[Any]
    layers: list[tuple[Any, ...]]
    #: when the revision was linked (storage mtime); becomes pushed_at of a new row
    linked_at: datetime | None = None


@dataclass
class _Scan:
    """Manifests of one repository read so far: built rows, or why not."""

    built: dict[Digest, _Built] = field(default_factory=dict)
    failed: dict[Digest, str] = field(default_factory=dict)

    def __contains__(self, digest: Digest) -> bool:
        return digest in self.built or digest in self.failed


async def _gather(
    func: Callable[[_T], Awaitable[_R]], items: Iterable[_T], limit: int = CONCURRENCY
) -> list[_R]:
    """`func` over `items` with at most `limit` running at once; results in order."""
    todo = list(enumerate(items))
    results: list[Any] = [None] * len(todo)
    queue = iter(todo)

    async def worker() -> None:
        for index, item in queue:
            results[index] = await func(item)

    try:
        async with anyio.create_task_group() as group:
            for _ in range(min(limit, len(todo))):
                group.start_soon(worker)
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        if len(group.exceptions) == 1 and isinstance(first, Exception):
            raise first from None
        raise
    return results


class Reindexer:
    """Rebuilds the index rows of repositories from one store into one database."""

    def __init__(self, database: Database, store: RegistryStore) -> None:
        self.database = database
        self.store = store
        self.index = ModelIndex(database, store)

    async def run(
        self, repositories: Sequence[str] | None = None, progress: Progress | None = None
    ) -> ReindexSummary:
        """Reindex the named repositories, or every one in storage or in the index."""
        started = time.monotonic()
        if repositories is None:
            names = sorted(
                set(await repository_names(self.store.driver)) | set(await self._indexed_names())
            )
        else:
            names = sorted(set(repositories))
        results = []
        for position, name in enumerate(names, 1):
            result = await self.repository(name)
            results.append(result)
            if progress is not None:
                progress(ReindexProgress(position, len(names), result))
        return ReindexSummary(
            repositories=sum(1 for r in results if r.present),
            manifests=sum(r.manifests for r in results),
            tags=sum(r.tags for r in results),
            errors=sum(r.errors for r in results),
            removed=sum(1 for r in results if r.removed),
            seconds=time.monotonic() - started,
            failed=tuple(r.name for r in results if r.failed),
        )

    async def _indexed_names(self) -> list[str]:
        rows = await self.database.pool.fetch(
            "SELECT name FROM repositories UNION SELECT repository FROM manifests"
            " UNION SELECT repository FROM tags"
        )
        return [row[0] for row in rows]

    async def repository(self, name: str) -> RepositoryResult:
        """Bring one repository's rows in line with storage; never raises."""
        try:
            known = {
                row[0]
                for row in await self.database.pool.fetch(
                    "SELECT digest FROM manifests WHERE repository = $1", name
                )
            }
            scan = _Scan()
            await self._read(name, await self.store.manifests.digests(name), known, scan)
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return await self._write(name, scan)
                except asyncpg.exceptions.TransactionRollbackError:
                    if attempt == ATTEMPTS:
                        raise
                    log.info("reindex of %s: transaction conflict, retrying", name)
        except Exception as exc:
            log.exception("reindex of %s failed; marked for reindex", name)
            try:
                await self.index.mark_for_reindex(name, f"reindex: {type(exc).__name__}: {exc}")
            except Exception:
                log.exception("cannot mark %s for reindex", name)
            return RepositoryResult(name, errors=1, failed=True)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read(
        self, name: str, digests: Iterable[Digest], known: set[str], scan: _Scan
    ) -> None:
        """Build the rows of `digests` not scanned yet into `scan`."""

        async def one(digest: Digest) -> None:
            try:
                scan.built[digest] = await self._build(name, digest, str(digest) not in known)
            except (StorageError, OSError):
                raise  # storage trouble fails the repository: its rows stay as they are
            except Exception as exc:
                log.warning("reindex of %s: manifest %s not indexed: %s", name, digest, exc)
                scan.failed[digest] = f"{digest}: {type(exc).__name__}: {exc}"

        await _gather(one, [d for d in digests if d not in scan])

    async def _build(self, name: str, digest: Digest, new: bool) -> _Built:
        try:
            data = await self.store.blobs.get(digest)
        except BlobUnknown:
            raise ManifestUnknown(digest, "revision is linked but its blob is missing") from None
        manifest = parse(data)
        row = await self.index.row(name, digest, data, manifest)
        layers = [
            (name, str(digest), position, d.media_type, str(d.digest), d.size, d.annotations)
            for position, d in enumerate(layers_of(manifest))
        ]
        linked_at = None
        if new:
            try:
                info = await self.store.driver.stat(paths.revision_link(name, digest))
                linked_at = datetime.fromtimestamp(info.mtime, UTC)
            except PathNotFound:
                pass
        return _Built(row, layers, linked_at)

    async def _tags(self, name: str) -> dict[str, Digest]:
        """Tag name -> digest of its current link; tags without one are left out."""
        try:
            names = await self.store.tags.names(name)
        except RepositoryUnknown:
            return {}

        async def resolve(tag: str) -> Digest | None:
            try:
                return await self.store.tags.resolve(name, tag)
            except ManifestUnknown:
                return None

        digests = await _gather(resolve, names)
        return {tag: d for tag, d in zip(names, digests, strict=True) if d is not None}

    async def _write(self, name: str, scan: _Scan) -> RepositoryResult:
        async with self.database.pool.acquire() as connection, connection.transaction():
            # the lock live indexing takes first; then every index row of the repository,
            # in the order index deletes take them (tags, then manifests)
            await connection.execute(
                "INSERT INTO repositories (name) VALUES ($1)"
                " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
                name,
            )
            old_tags = await connection.fetch(
                "SELECT tag FROM tags WHERE repository = $1 ORDER BY tag FOR UPDATE", name
            )
            old = {
                row[0]
                for row in await connection.fetch(
                    "SELECT digest FROM manifests WHERE repository = $1 ORDER BY digest FOR UPDATE",
                    name,
                )
            }
            if not await exists(self.store.driver, name):
                await connection.execute("DELETE FROM tags WHERE repository = $1", name)
                await connection.execute("DELETE FROM manifests WHERE repository = $1", name)
                await connection.execute("DELETE FROM repositories WHERE name = $1", name)
                return RepositoryResult(name, present=False, removed=bool(old or old_tags))

            digests = await self.store.manifests.digests(name)
            await self._read(name, digests, old, scan)
            built = {d: scan.built[d] for d in digests if d in scan.built}
            errors = [scan.failed[d] for d in digests if d in scan.failed]
            tags = {tag: d for tag, d in (await self._tags(name)).items() if d in built}
            indexed = [str(d) for d in built]

            await connection.executemany(UPSERT_MANIFEST, [b.row for b in built.values()])
            await connection.execute(
                "DELETE FROM layers WHERE repository = $1 AND manifest_digest = ANY($2::text[])",
                name,
                indexed,
            )
            await connection.executemany(
                "INSERT INTO layers (repository, manifest_digest, position, media_type, digest,"
                " size, annotations) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [layer for b in built.values() for layer in b.layers],
            )
            await connection.executemany(
                "UPDATE manifests SET pushed_at = $3 WHERE repository = $1 AND digest = $2",
                [
                    (name, str(d), b.linked_at)
                    for d, b in built.items()
                    if b.linked_at is not None and str(d) not in old
                ],
            )
            await connection.executemany(
                "INSERT INTO tags (repository, tag, digest) VALUES ($1, $2, $3)"
                " ON CONFLICT (repository, tag) DO UPDATE"
                " SET digest = EXCLUDED.digest, updated_at = now()"
                " WHERE tags.digest <> EXCLUDED.digest",
                [(name, tag, str(d)) for tag, d in tags.items()],
            )
            await connection.execute(
                "DELETE FROM tags WHERE repository = $1 AND NOT (tag = ANY($2::text[]))",
                name,
                list(tags),
            )
            await connection.execute(
                "DELETE FROM manifests WHERE repository = $1 AND NOT (digest = ANY($2::text[]))",
                name,
                indexed,
            )
            last_error = None
            if errors:
                last_error = f"reindex: {len(errors)} manifest(s) not indexed: " + "; ".join(
                    sorted(errors)
                )
            await connection.execute(
                "UPDATE repositories SET needs_reindex = false, last_error = $2,"
                " updated_at = now() WHERE name = $1",
                name,
                last_error[:2000] if last_error else None,
            )
        return RepositoryResult(name, manifests=len(built), tags=len(tags), errors=len(errors))


async def reindex(
    config: Config,
    repositories: Sequence[str] | None = None,
    progress: Progress | None = None,
    *,
    database: Database | None = None,
    store: RegistryStore | None = None,
) -> ReindexSummary:
    """Rebuild the index of `repositories` (default: all) from storage.

    Opens the database and storage named by `config` unless given (a server passes its own
    and they stay open).
    """
    driver = None
    if store is None:
        driver = create_driver(config.storage)
        store = RegistryStore(driver)
    opened = None
    try:
        if database is None:
            database = opened = await Database.open(config)
        return await Reindexer(database, store).run(repositories, progress)
    finally:
        if opened is not None:
            await opened.close()
        if driver is not None:
            await driver.close()


class TextProgress:
    """A progress line per repository on a text stream, e.g. stderr:

    `[=====     ]  3/6 team/cnn: 12 manifests, 4 tags, 0 errors`
    """

    def __init__(self, stream: TextIO, width: int = 20) -> None:
        self.stream = stream
        self.width = width

    def __call__(self, event: ReindexProgress) -> None:
        done = self.width * event.position // max(event.total, 1)
        bar = "=" * done + " " * (self.width - done)
        count = f"{event.position:>{len(str(event.total))}}/{event.total}"
        result = event.result
        if result.failed:
            what = "FAILED (marked for reindex)"
        elif result.removed:
            what = "removed (gone from storage)"
        elif not result.present:
            what = "not in storage"
        else:
            what = f"{result.manifests} manifests, {result.tags} tags, {result.errors} errors"
        self.stream.write(f"[{bar}] {count} {result.name}: {what}\n")
        self.stream.flush()
