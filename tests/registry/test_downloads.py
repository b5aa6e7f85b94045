"""Blob file downloads: the buffered way while a slot is free, zero-copy `pathsend` beyond."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from starlette.types import Message, Scope

from registry.downloads import CHUNK_SIZE, PATHSEND, BlobFileResponse, DownloadSlots
from storage.errors import BlobUnknown

pytestmark = pytest.mark.anyio

SIZE = 2 * CHUNK_SIZE + 12_345


@pytest.fixture
def blob(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(SIZE)
    path = tmp_path / "data"
    path.write_bytes(data)
    return path, data


def _scope(pathsend: bool) -> Scope:
    extensions: dict[str, dict[str, object]] = {PATHSEND: {}} if pathsend else {}
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "asgi": {"spec_version": "2.4"},
        "extensions": extensions,
    }


async def _receive() -> Message:
    return {"type": "http.disconnect"}


async def _send_through(
    response: BlobFileResponse, scope: Scope, slots: DownloadSlots
) -> tuple[list[Message], list[int]]:
    """Run the response; return its messages and the slots in use at each message."""
    messages: list[Message] = []
    active: list[int] = []

    async def send(message: Message) -> None:
        messages.append(message)
        active.append(slots.active)

    await response(scope, _receive, send)
    return messages, active


def _response(path: Path, slots: DownloadSlots) -> BlobFileResponse:
    return BlobFileResponse(path, {"ETag": '"x"'}, "application/octet-stream", slots)


def _bodies(messages: list[Message]) -> list[bytes]:
    return [m["body"] for m in messages if m["type"] == "http.response.body"]


async def test_slots_are_taken_up_to_the_limit_and_given_back() -> None:
    slots = DownloadSlots(2)
    assert slots.take()
    assert slots.take()
    assert not slots.take()
    slots.give_back()
    assert slots.take()
    assert not DownloadSlots(0).take()


async def test_a_free_slot_sends_the_file_in_buffered_messages(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    slots = DownloadSlots(1)
    messages, active = await _send_through(_response(path, slots), _scope(True), slots)
    assert all(m["type"] != PATHSEND for m in messages)
    bodies = _bodies(messages)
    assert b"".join(bodies) == data
    assert max(len(b) for b in bodies) == CHUNK_SIZE
    assert set(active) == {1}
    assert slots.active == 0


async def test_without_a_free_slot_the_file_goes_by_pathsend(blob: tuple[Path, bytes]) -> None:
    path, _ = blob
    slots = DownloadSlots(1)
    assert slots.take()
    messages, _ = await _send_through(_response(path, slots), _scope(True), slots)
    assert [m["type"] for m in messages] == ["http.response.start", PATHSEND]
    assert messages[1]["path"] == str(path)
    start_headers = dict(messages[0]["headers"])
    assert start_headers[b"content-length"] == str(SIZE).encode()
    assert slots.active == 1


async def test_a_server_without_pathsend_takes_no_slot(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    slots = DownloadSlots(0)
    messages, _ = await _send_through(_response(path, slots), _scope(False), slots)
    assert b"".join(_bodies(messages)) == data
    assert slots.active == 0


async def test_the_slot_is_given_back_when_the_client_goes(blob: tuple[Path, bytes]) -> None:
    path, _ = blob
    slots = DownloadSlots(1)

    async def broken(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        await _response(path, slots)(_scope(True), _receive, broken)
    assert slots.active == 0


async def test_a_file_removed_since_the_lookup_is_blob_unknown(blob: tuple[Path, bytes]) -> None:
    path, _ = blob
    slots = DownloadSlots(1)
    response = _response(path, slots)
    path.unlink()
    with pytest.raises(BlobUnknown):
        await _send_through(response, _scope(True), slots)
    assert slots.active == 0
