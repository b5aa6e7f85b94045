"""Readers of a blob flight: they stream what has arrived, hold back their last byte until the
blob is published, and fail when the fetch fails."""

from __future__ import annotations

import asyncio

import pytest

from registry.digest import Digest
from registry.errors import RegistryError
from registry.proxy.errors import UPSTREAM_INVALID
from registry.proxy.flight import BlobFlight

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 64


async def _collect(flight: BlobFlight, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in flight.read(start, end)])


async def _next(stream: object) -> bytes:
    chunk: bytes = await anext(stream)  # type: ignore[call-overload]
    return chunk


async def test_a_reader_gets_bytes_as_they_arrive_but_not_the_last_before_publication(
    anyio_backend: str,
) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    flight.append(DATA[:1000])
    reader = flight.read(0, len(DATA) - 1)
    assert await _next(reader) == DATA[:1000]
    flight.append(DATA[1000:])
    assert await _next(reader) == DATA[1000:-1]
    last = asyncio.ensure_future(_next(reader))
    await asyncio.sleep(0)
    assert not last.done()
    flight.verify()
    assert await last == DATA[-1:]
    await reader.aclose()
    flight.finish()


async def test_late_readers_and_ranges_read_from_the_start(anyio_backend: str) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    flight.append(DATA)
    whole = asyncio.ensure_future(_collect(flight))
    ranged = asyncio.ensure_future(_collect(flight, 100, 199))
    await asyncio.sleep(0)
    flight.verify()
    flight.finish()
    assert await whole == DATA
    assert await ranged == DATA[100:200]


async def test_a_failed_fetch_fails_its_readers(anyio_backend: str) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    flight.append(DATA)
    reader = asyncio.ensure_future(_collect(flight))
    await asyncio.sleep(0)
    flight.fail(RegistryError(UPSTREAM_INVALID))
    with pytest.raises(RegistryError) as raised:
        await reader
    assert raised.value.code == UPSTREAM_INVALID


async def test_a_fetch_that_ends_unpublished_fails_its_readers(anyio_backend: str) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    flight.append(DATA[:10])
    reader = asyncio.ensure_future(_collect(flight))
    await asyncio.sleep(0)
    flight.finish()
    with pytest.raises(RegistryError):
        await reader


async def test_readers_finish_when_only_the_cache_failed_after_the_bytes_matched(
    anyio_backend: str,
) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    flight.append(DATA)
    reader = asyncio.ensure_future(_collect(flight))
    await asyncio.sleep(0)
    flight.verify()
    flight.fail(RegistryError(UPSTREAM_INVALID))
    assert await reader == DATA


async def test_storage_gets_the_spool_in_batches_until_the_body_ends(anyio_backend: str) -> None:
    flight = BlobFlight(Digest.of(DATA), "central")
    flight.begin(len(DATA))
    copied: list[bytes] = []

    async def copy() -> None:
        async for batch in flight.spooled(5000):
            copied.append(batch)

    copier = asyncio.ensure_future(copy())
    for start in range(0, len(DATA), 3000):
        flight.append(DATA[start : start + 3000])
        await asyncio.sleep(0)
    flight.end()
    await copier
    assert b"".join(copied) == DATA
    assert all(len(batch) == 5000 for batch in copied[:-1])
    flight.verify()
    flight.finish()
