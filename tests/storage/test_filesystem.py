"""Filesystem driver specifics: crash safety of atomic puts and the on-disk layout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import pytest

from registry.digest import Digest
from storage.errors import PathNotFound
from storage.filesystem import FilesystemDriver
from storage.layout import RegistryStore

pytestmark = pytest.mark.anyio

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{32}\.tmp$")


def temp_files(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


async def walk_paths(driver: FilesystemDriver, path: str = "/") -> list[str]:
    return [info.path async for info in driver.walk(path)]


async def test_put_content_leaves_no_temp_file(fs_driver: FilesystemDriver) -> None:
    await fs_driver.put_content("/dir/file", b"one")
    await fs_driver.put_content("/dir/file", b"two")
    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(fs_driver.put_content, f"/dir/f{n:02d}", b"x" * n)
    directory = fs_driver.root / "dir"
    assert temp_files(directory) == []
    assert sorted(os.listdir(directory)) == sorted(["file", *[f"f{n:02d}" for n in range(20)]])
    assert (directory / "file").read_bytes() == b"two"


async def test_failed_put_content_keeps_old_content_and_removes_temp(
    fs_driver: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DiskError(OSError):
        pass

    await fs_driver.put_content("/dir/file", b"old")

    def failing_fsync(fd: int) -> None:
        raise DiskError("simulated I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DiskError):
        await fs_driver.put_content("/dir/file", b"new content that never lands")
    monkeypatch.undo()
    assert await fs_driver.get_content("/dir/file") == b"old"
    assert temp_files(fs_driver.root / "dir") == []


async def test_leftover_temp_file_is_invisible(fs_driver: FilesystemDriver) -> None:
    await fs_driver.put_content("/repo/_manifests/tags/v1/current/link", b"sha256:" + b"a" * 64)
    current = fs_driver.root / "repo/_manifests/tags/v1/current"
    leftover = current / f".link.{'0123456789abcdef' * 2}.tmp"
    leftover.write_bytes(b"sha256:partial")
    # a killed first write into a new folder leaves a folder holding only a temp file
    lonely = fs_driver.root / "repo/_manifests/tags/v2/current"
    lonely.mkdir(parents=True)
    (lonely / f".link.{'f' * 32}.tmp").write_bytes(b"sha2")

    assert await fs_driver.list("/repo/_manifests/tags/v1/current") == [
        "/repo/_manifests/tags/v1/current/link"
    ]
    assert await fs_driver.list("/repo/_manifests/tags/v2/current") == []
    walked = await walk_paths(fs_driver)
    assert not [path for path in walked if path.endswith(".tmp")]
    assert "/repo/_manifests/tags/v1/current/link" in walked
    assert await fs_driver.get_content("/repo/_manifests/tags/v1/current/link") == (
        b"sha256:" + b"a" * 64
    )
    # a later put over the same path still works and the leftover stays hidden
    await fs_driver.put_content("/repo/_manifests/tags/v1/current/link", b"sha256:" + b"b" * 64)
    assert await fs_driver.list("/repo/_manifests/tags/v1/current") == [
        "/repo/_manifests/tags/v1/current/link"
    ]


_CHILD = textwrap.dedent(
    """
    import sys

    import anyio

    from storage.filesystem import FilesystemDriver


    async def main() -> None:
        root, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
        driver = FilesystemDriver(root)
        data = b"N" * size
        print("writing", flush=True)
        await driver.put_content(path, data)
        print("done", flush=True)
        await anyio.sleep(60)


    anyio.run(main)
    """
)


def _kill_during_put(root: Path, path: str, size: int) -> Path:
    """Run a child putting `size` bytes at `path`; SIGKILL it once its temp file has bytes.

    Returns the temp file the child was writing.
    """
    directory = root / path.lstrip("/").rsplit("/", 1)[0]
    name = path.rsplit("/", 1)[1]
    final = directory / name
    final_before = final.stat().st_size if final.exists() else None
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), path, str(size)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 20
        temp: Path | None = None
        while temp is None:
            assert time.monotonic() < deadline, "the child never started its temp file"
            assert child.poll() is None, "the child exited before it could be killed"
            final_now = final.stat().st_size if final.exists() else None
            assert final_now == final_before, "the final path was written in place"
            for candidate in temp_files(directory):
                match = TEMP_NAME.match(candidate)
                if match and match["name"] == name:
                    try:
                        if (directory / candidate).stat().st_size > 0:
                            temp = directory / candidate
                    except FileNotFoundError:
                        pass
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        rest = child.stdout.read()
        assert "done" not in rest, "the put completed before the kill"
        return temp
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


@pytest.mark.parametrize("old", [b"old content", None], ids=["replace", "create"])
async def test_killed_writer_never_leaves_partial_file(tmp_path: Path, old: bytes | None) -> None:
    root = tmp_path / "root"
    driver = FilesystemDriver(root)
    path = "/docker/registry/v2/blobs/sha256/ab/abcd/data"
    if old is not None:
        await driver.put_content(path, old)
    size = 256 << 20

    temp = await anyio.to_thread.run_sync(_kill_during_put, root, path, size)

    final = root / path.lstrip("/")
    if old is None:
        assert not final.exists()
        with pytest.raises(PathNotFound):
            await driver.get_content(path)
    else:
        assert final.read_bytes() == old
        assert await driver.get_content(path) == old
    # the half-written temp file may stay behind, but nobody sees it
    assert temp.exists()
    assert 0 < temp.stat().st_size <= size
    parent = path.rsplit("/", 1)[0]
    assert await driver.list(parent) == ([path] if old is not None else [])
    assert not [p for p in await walk_paths(driver) if p.endswith(".tmp")]
    # and the next writer succeeds
    await driver.put_content(path, b"recovered")
    assert await driver.get_content(path) == b"recovered"
    assert await driver.list(parent) == [path]


async def test_registry_layout_on_disk(fs_driver: FilesystemDriver) -> None:
    """The files land exactly where registry:2 keeps them."""
    store = RegistryStore(fs_driver)
    data = b'{"schemaVersion":2}'
    digest = Digest.of(data)
    await store.manifests.put("library/model", data, digest)
    await store.tags.tag("library/model", "v1", digest)
    v2 = fs_driver.root / "docker/registry/v2"
    assert (v2 / f"blobs/sha256/{digest.hex[:2]}/{digest.hex}/data").read_bytes() == data
    revision = v2 / f"repositories/library/model/_manifests/revisions/sha256/{digest.hex}/link"
    assert revision.read_bytes() == str(digest).encode()
    tag = v2 / "repositories/library/model/_manifests/tags/v1"
    assert (tag / "current/link").read_bytes() == str(digest).encode()
    assert (tag / f"index/sha256/{digest.hex}/link").read_bytes() == str(digest).encode()
    assert fs_driver.local_path(
        f"/docker/registry/v2/blobs/sha256/{digest.hex[:2]}/{digest.hex}/data"
    ) == (v2 / f"blobs/sha256/{digest.hex[:2]}/{digest.hex}/data")


async def test_reads_a_tree_written_by_someone_else(fs_driver: FilesystemDriver) -> None:
    """Storage is the truth: files placed by another program are served as they are."""
    (fs_driver.root / "a/b").mkdir(parents=True)
    (fs_driver.root / "a/b/file").write_bytes(b"external")
    (fs_driver.root / "a/c").write_bytes(b"")
    assert await fs_driver.list("/a") == ["/a/b", "/a/c"]
    assert await fs_driver.get_content("/a/b/file") == b"external"
    assert await walk_paths(fs_driver) == ["/a", "/a/b", "/a/b/file", "/a/c"]
