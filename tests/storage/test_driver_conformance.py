"""The storage driver contract (DESIGN.md, "Storage driver interface"), run over every driver.

Each test gets a fresh, empty store from the `driver` fixture (tests/storage/conftest.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from storage.driver import FileInfo, FileWriter, StorageDriver
from storage.errors import InvalidOffset, InvalidPath, PathNotFound

pytestmark = pytest.mark.anyio

MiB = 1 << 20


async def read_all(driver: StorageDriver, path: str, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in driver.reader(path, offset)])


async def walk_all(driver: StorageDriver, path: str) -> list[FileInfo]:
    return [info async for info in driver.walk(path)]


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes where every position is distinguishable from its neighbours' MiB."""
    block = hashlib.sha256(seed.to_bytes(8, "big")).digest()
    return (block * (size // len(block) + 1))[:size]


# -- whole-file content --------------------------------------------------------------------


async def test_put_then_get_content(driver: StorageDriver) -> None:
    await driver.put_content("/a/b/file", b"hello")
    assert await driver.get_content("/a/b/file") == b"hello"


async def test_put_empty_content(driver: StorageDriver) -> None:
    await driver.put_content("/empty", b"")
    assert await driver.get_content("/empty") == b""
    info = await driver.stat("/empty")
    assert (info.size, info.is_dir) == (0, False)


async def test_put_content_replaces_whole_file(driver: StorageDriver) -> None:
    await driver.put_content("/f", b"a much longer first version")
    await driver.put_content("/f", b"short")
    assert await driver.get_content("/f") == b"short"
    assert (await driver.stat("/f")).size == 5
    assert await driver.list("/") == ["/f"]


async def test_binary_content_round_trips(driver: StorageDriver) -> None:
    data = bytes(range(256)) * 64
    await driver.put_content("/bin", data)
    assert await driver.get_content("/bin") == data


async def test_get_content_of_a_directory_is_not_found(driver: StorageDriver) -> None:
    await driver.put_content("/dir/file", b"x")
    with pytest.raises(PathNotFound):
        await driver.get_content("/dir")


# -- reader --------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, MiB - 1, MiB, MiB + 7, 3 * MiB + 16, 3 * MiB + 17])
async def test_reader_from_offset(driver: StorageDriver, offset: int) -> None:
    data = pattern(3 * MiB + 17)
    await driver.put_content("/blob", data)
    assert await read_all(driver, "/blob", offset) == data[offset:]


async def test_reader_at_end_yields_nothing(driver: StorageDriver) -> None:
    await driver.put_content("/blob", b"0123456789")
    assert [chunk async for chunk in driver.reader("/blob", 10) if chunk] == []


@pytest.mark.parametrize("offset", [11, 1 << 40, -1])
async def test_reader_outside_the_file_is_invalid_offset(
    driver: StorageDriver, offset: int
) -> None:
    await driver.put_content("/blob", b"0123456789")
    with pytest.raises(InvalidOffset):
        await read_all(driver, "/blob", offset)


async def test_reader_of_empty_file(driver: StorageDriver) -> None:
    await driver.put_content("/empty", b"")
    assert await read_all(driver, "/empty") == b""
    with pytest.raises(InvalidOffset):
        await read_all(driver, "/empty", 1)


async def test_reader_of_missing_path(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await read_all(driver, "/missing")
    await driver.put_content("/dir/file", b"x")
    with pytest.raises(PathNotFound):
        await read_all(driver, "/dir")


# -- writer --------------------------------------------------------------------------------


async def test_writer_write_and_commit(driver: StorageDriver) -> None:
    writer = await driver.writer("/up/data")
    assert isinstance(writer, FileWriter)
    assert writer.size == 0
    assert await writer.write(b"abc") == 3
    assert await writer.write(b"") == 0
    assert await writer.write(b"defg") == 4
    assert writer.size == 7
    await writer.commit()
    await writer.close()
    assert await driver.get_content("/up/data") == b"abcdefg"
    assert (await driver.stat("/up/data")).size == 7


async def test_writer_cancel_removes_the_file(driver: StorageDriver) -> None:
    writer = await driver.writer("/up/data")
    await writer.write(b"doomed")
    await writer.cancel()
    with pytest.raises(PathNotFound):
        await driver.stat("/up/data")
    with pytest.raises(PathNotFound):
        await driver.get_content("/up/data")


async def test_writer_cancel_of_resumed_writer_removes_everything(driver: StorageDriver) -> None:
    writer = await driver.writer("/up/data")
    await writer.write(b"first")
    await writer.commit()
    await writer.close()
    resumed = await driver.writer("/up/data", append=True)
    await resumed.write(b"second")
    await resumed.cancel()
    with pytest.raises(PathNotFound):
        await driver.get_content("/up/data")


async def test_writer_append_continues_committed_file(driver: StorageDriver) -> None:
    writer = await driver.writer("/up/data")
    await writer.write(b"hello ")
    await writer.commit()
    await writer.close()
    resumed = await driver.writer("/up/data", append=True)
    assert resumed.size == 6
    await resumed.write(b"world")
    assert resumed.size == 11
    await resumed.commit()
    await resumed.close()
    assert await driver.get_content("/up/data") == b"hello world"


async def test_writer_closed_without_commit_can_be_resumed(driver: StorageDriver) -> None:
    """Uploads rely on this: each PATCH closes its writer, the next one appends, the
    final PUT commits, and a process without the running hash re-reads the bytes."""
    writer = await driver.writer("/up/data")
    await writer.write(b"part one, ")
    await writer.close()
    resumed = await driver.writer("/up/data", append=True)
    assert resumed.size == 10
    await resumed.write(b"part two")
    await resumed.close()
    final = await driver.writer("/up/data", append=True)
    assert final.size == 18
    await final.commit()
    await final.close()
    assert await read_all(driver, "/up/data") == b"part one, part two"


async def test_writer_append_to_missing_file_starts_empty(driver: StorageDriver) -> None:
    writer = await driver.writer("/new/data", append=True)
    assert writer.size == 0
    await writer.write(b"xyz")
    await writer.commit()
    await writer.close()
    assert await driver.get_content("/new/data") == b"xyz"


async def test_writer_without_append_truncates(driver: StorageDriver) -> None:
    await driver.put_content("/f", b"old content")
    writer = await driver.writer("/f")
    assert writer.size == 0
    await writer.write(b"new")
    await writer.commit()
    await writer.close()
    assert await driver.get_content("/f") == b"new"


async def test_large_multipart_write(driver: StorageDriver) -> None:
    parts = [pattern(MiB, seed) for seed in range(20)]
    writer = await driver.writer("/big/data")
    for part in parts[:12]:
        await writer.write(part)
    await writer.close()
    writer = await driver.writer("/big/data", append=True)
    assert writer.size == 12 * MiB
    for part in parts[12:]:
        await writer.write(part)
    assert writer.size == 20 * MiB
    await writer.commit()
    await writer.close()

    expected = b"".join(parts)
    assert (await driver.stat("/big/data")).size == 20 * MiB
    digest = hashlib.sha256()
    received = 0
    async for chunk in driver.reader("/big/data"):
        digest.update(chunk)
        received += len(chunk)
    assert received == 20 * MiB
    assert digest.digest() == hashlib.sha256(expected).digest()
    offset = 13 * MiB + 12345
    assert await read_all(driver, "/big/data", offset) == expected[offset:]


# -- stat ----------------------------------------------------------------------------------


async def test_stat_of_file(driver: StorageDriver) -> None:
    before = time.time()
    await driver.put_content("/d/file", b"12345")
    info = await driver.stat("/d/file")
    assert info.path == "/d/file"
    assert info.size == 5
    assert info.is_dir is False
    assert before - 5 <= info.mtime <= time.time() + 5


async def test_stat_of_directory(driver: StorageDriver) -> None:
    await driver.put_content("/d/sub/file", b"12345")
    for path in ("/d", "/d/sub"):
        info = await driver.stat(path)
        assert info.path == path
        assert info.is_dir is True
        assert info.size == 0


async def test_stat_of_root(driver: StorageDriver) -> None:
    await driver.put_content("/file", b"x")
    assert (await driver.stat("/")).is_dir is True


async def test_stat_of_name_prefix_is_not_found(driver: StorageDriver) -> None:
    """`/ab` is not a directory of `/abc` (a naive key-prefix check would say so)."""
    await driver.put_content("/abc/file", b"x")
    with pytest.raises(PathNotFound):
        await driver.stat("/ab")
    with pytest.raises(PathNotFound):
        await driver.list("/ab")


# -- list ----------------------------------------------------------------------------------


async def test_list_direct_children_sorted_full_paths(driver: StorageDriver) -> None:
    for path in ("/a/b/c", "/a/b/d", "/a/e", "/a/b2", "/a/B", "/a/-", "/z"):
        await driver.put_content(path, b"x")
    assert await driver.list("/a") == ["/a/-", "/a/B", "/a/b", "/a/b2", "/a/e"]
    assert await driver.list("/a/b") == ["/a/b/c", "/a/b/d"]
    assert await driver.list("/") == ["/a", "/z"]


async def test_list_of_missing_path(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await driver.list("/missing")
    await driver.put_content("/file", b"x")
    with pytest.raises(PathNotFound):
        await driver.list("/missing")
    with pytest.raises(PathNotFound):
        await driver.list("/file")


async def test_list_root_of_empty_store(driver: StorageDriver) -> None:
    assert await driver.list("/") == []


async def test_emptied_directory_lists_empty_or_not_found(driver: StorageDriver) -> None:
    """Filesystems keep empty folders, object stores do not: callers accept both."""
    await driver.put_content("/dir/only", b"x")
    await driver.delete("/dir/only")
    with contextlib.suppress(PathNotFound):
        assert await driver.list("/dir") == []
    assert await driver.list("/") in ([], ["/dir"])


# -- walk ----------------------------------------------------------------------------------


def expected_walk(files: list[str], top: str) -> list[tuple[str, bool]]:
    """Reference depth-first walk: siblings in lexical order of their names."""
    tree: dict[str, set[str]] = {}
    for file in files:
        parts = file.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[: depth - 1]) if depth > 1 else "/"
            tree.setdefault(parent, set()).add("/" + "/".join(parts[:depth]))
    out: list[tuple[str, bool]] = []

    def visit(directory: str) -> None:
        for child in sorted(tree.get(directory, ()), key=lambda p: p.rsplit("/", 1)[1]):
            is_dir = child in tree
            out.append((child, is_dir))
            if is_dir:
                visit(child)

    visit(top)
    return out


async def test_walk_depth_first_lexical(driver: StorageDriver) -> None:
    # `a` sorts before `a-b` and `a.b` as a name, but `/x/a-b` < `/x/a/z` as a string:
    # the walk must finish `a` before moving on to its siblings
    files = ["/x/a/z", "/x/a/b/c", "/x/a-b", "/x/a.b", "/x/b", "/x/0/y", "/top"]
    for i, path in enumerate(files):
        await driver.put_content(path, b"x" * i)
    infos = await walk_all(driver, "/")
    assert [(i.path, i.is_dir) for i in infos] == [
        ("/top", False),
        ("/x", True),
        ("/x/0", True),
        ("/x/0/y", False),
        ("/x/a", True),
        ("/x/a/b", True),
        ("/x/a/b/c", False),
        ("/x/a/z", False),
        ("/x/a-b", False),
        ("/x/a.b", False),
        ("/x/b", False),
    ]
    assert [(i.path, i.is_dir) for i in infos] == expected_walk(files, "/")
    sizes = {i.path: i.size for i in infos if not i.is_dir}
    assert sizes == {path: i for i, path in enumerate(files)}


async def test_walk_of_subdirectory_excludes_it_and_its_siblings(driver: StorageDriver) -> None:
    for path in ("/a/1", "/a/2/3", "/ab/4", "/b"):
        await driver.put_content(path, b"x")
    assert [i.path for i in await walk_all(driver, "/a")] == ["/a/1", "/a/2", "/a/2/3"]


async def test_walk_many_entries(driver: StorageDriver) -> None:
    files = [f"/many/d{i % 7}/s{i % 3}/f{i:04d}" for i in range(1500)]
    limiter = anyio.CapacityLimiter(16)

    async def put(path: str) -> None:
        async with limiter:
            await driver.put_content(path, path.encode())

    async with anyio.create_task_group() as tg:
        for path in files:
            tg.start_soon(put, path)
    infos = await walk_all(driver, "/many")
    assert [(i.path, i.is_dir) for i in infos] == expected_walk(files, "/many")
    assert sum(not i.is_dir for i in infos) == 1500
    assert len(infos) == 1500 + 7 + 7 * 3


async def test_walk_of_missing_path(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await walk_all(driver, "/missing")


async def test_walk_root_of_empty_store(driver: StorageDriver) -> None:
    assert await walk_all(driver, "/") == []


# -- move ----------------------------------------------------------------------------------


async def test_move(driver: StorageDriver) -> None:
    await driver.put_content("/src/file", b"payload")
    await driver.move("/src/file", "/dst/deep/er/file")
    assert await driver.get_content("/dst/deep/er/file") == b"payload"
    with pytest.raises(PathNotFound):
        await driver.get_content("/src/file")


async def test_move_onto_existing_path_replaces_it(driver: StorageDriver) -> None:
    await driver.put_content("/src", b"new")
    await driver.put_content("/dst", b"the old, longer content")
    await driver.move("/src", "/dst")
    assert await driver.get_content("/dst") == b"new"
    assert await driver.list("/") == ["/dst"]


async def test_move_of_written_file(driver: StorageDriver) -> None:
    writer = await driver.writer("/uploads/x/data")
    await writer.write(pattern(2 * MiB + 3))
    await writer.commit()
    await writer.close()
    await driver.move("/uploads/x/data", "/blobs/ab/data")
    assert await read_all(driver, "/blobs/ab/data") == pattern(2 * MiB + 3)


async def test_move_of_missing_path(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await driver.move("/missing", "/dst/file")
    await driver.put_content("/file", b"x")
    with pytest.raises(PathNotFound):
        await driver.move("/file/below", "/dst/file")
    # a failed move leaves no trace
    assert await driver.list("/") == ["/file"]


# -- delete --------------------------------------------------------------------------------


async def test_delete_file(driver: StorageDriver) -> None:
    await driver.put_content("/d/keep", b"1")
    await driver.put_content("/d/drop", b"2")
    await driver.delete("/d/drop")
    assert await driver.list("/d") == ["/d/keep"]
    with pytest.raises(PathNotFound):
        await driver.stat("/d/drop")


async def test_delete_is_recursive(driver: StorageDriver) -> None:
    for path in ("/r/a/1", "/r/a/b/2", "/r/a/b/c/3", "/r/ab", "/r/z"):
        await driver.put_content(path, b"x")
    await driver.delete("/r/a")
    assert await driver.list("/r") == ["/r/ab", "/r/z"]
    assert [i.path for i in await walk_all(driver, "/r")] == ["/r/ab", "/r/z"]
    for path in ("/r/a", "/r/a/1", "/r/a/b/c/3"):
        with pytest.raises(PathNotFound):
            await driver.stat(path)


async def test_delete_of_missing_path(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await driver.delete("/missing")
    await driver.put_content("/file", b"x")
    with pytest.raises(PathNotFound):
        await driver.delete("/fil")
    with pytest.raises(PathNotFound):
        await driver.delete("/file/below")
    assert await driver.get_content("/file") == b"x"


# -- missing paths and bad paths -----------------------------------------------------------


async def test_missing_paths_are_not_found(driver: StorageDriver) -> None:
    await driver.put_content("/present/file", b"x")
    for path in ("/missing", "/present/missing", "/present/file/below"):
        with pytest.raises(PathNotFound) as caught:
            await driver.get_content(path)
        assert caught.value.path == path
        with pytest.raises(PathNotFound):
            await driver.stat(path)
        with pytest.raises(PathNotFound):
            await driver.move(path, "/elsewhere")
        with pytest.raises(PathNotFound):
            await driver.delete(path)


BAD_PATHS = [
    "relative",
    "relative/path",
    "",
    "/a/../b",
    "/a/./b",
    "/..",
    "/a//b",
    "//a",
    "/a/",
    "/a\x00b",
    "/a\nb",
    "/a\\b",
]


def _operations(bad: str) -> list[Callable[[StorageDriver], Awaitable[object]]]:
    return [
        lambda d: d.get_content(bad),
        lambda d: d.put_content(bad, b"x"),
        lambda d: read_all(d, bad),
        lambda d: d.writer(bad),
        lambda d: d.writer(bad, append=True),
        lambda d: d.stat(bad),
        lambda d: d.list(bad),
        lambda d: d.move(bad, "/ok/dst"),
        lambda d: d.move("/ok/src", bad),
        lambda d: d.delete(bad),
        lambda d: walk_all(d, bad),
    ]


@pytest.mark.parametrize("bad", BAD_PATHS, ids=repr)
async def test_invalid_paths_are_rejected(driver: StorageDriver, bad: str) -> None:
    await driver.put_content("/ok/src", b"x")
    for operation in _operations(bad):
        with pytest.raises(InvalidPath):
            await operation(driver)
    # nothing was created, moved or deleted
    assert [i.path for i in await walk_all(driver, "/")] == ["/ok", "/ok/src"]
    assert await driver.get_content("/ok/src") == b"x"


# -- unusual but valid paths ---------------------------------------------------------------


async def test_unicode_paths(driver: StorageDriver) -> None:
    paths = ["/ünïcødé/模型/файл.bin", "/ünïcødé/emoji-🧠", "/ünïcødé/space name"]
    for i, path in enumerate(paths):
        await driver.put_content(path, f"{i}".encode())
    for i, path in enumerate(paths):
        assert await driver.get_content(path) == f"{i}".encode()
    assert await driver.list("/ünïcødé") == sorted(["/ünïcødé/模型", *paths[1:]])
    assert await driver.list("/ünïcødé/模型") == [paths[0]]
    await driver.move(paths[0], "/ünïcødé/模型/ファイル")
    assert await driver.get_content("/ünïcødé/模型/ファイル") == b"0"
    await driver.delete("/ünïcødé")
    assert await driver.list("/") in ([], ["/ünïcødé"])


async def test_deep_paths(driver: StorageDriver) -> None:
    parts = [f"level{i:02d}" for i in range(20)]
    path = "/" + "/".join(parts) + "/leaf"
    await driver.put_content(path, b"deep")
    assert await driver.get_content(path) == b"deep"
    infos = await walk_all(driver, "/")
    assert [i.path for i in infos] == ["/" + "/".join(parts[: n + 1]) for n in range(20)] + [path]
    assert all(i.is_dir for i in infos[:-1])
    assert (await driver.stat("/" + "/".join(parts[:10]))).is_dir
    await driver.delete("/" + parts[0])
    with pytest.raises(PathNotFound):
        await driver.get_content(path)


async def test_dotted_names_are_ordinary(driver: StorageDriver) -> None:
    for path in ("/d/.hidden", "/d/...", "/d/a.b.c", "/d/.x.tmp.not"):
        await driver.put_content(path, b"x")
    assert await driver.list("/d") == ["/d/...", "/d/.hidden", "/d/.x.tmp.not", "/d/a.b.c"]


# -- concurrency ---------------------------------------------------------------------------


async def test_concurrent_writers_to_different_paths(driver: StorageDriver) -> None:
    async def upload(n: int) -> None:
        writer = await driver.writer(f"/concurrent/{n:02d}/data")
        for part in range(8):
            await writer.write(pattern(64 << 10, n * 100 + part))
            await anyio.lowlevel.checkpoint()
        await writer.commit()
        await writer.close()

    async def put(n: int) -> None:
        await driver.put_content(f"/concurrent/{n:02d}/small", f"small {n}".encode())

    async with anyio.create_task_group() as tg:
        for n in range(24):
            tg.start_soon(upload, n)
            tg.start_soon(put, n)
    for n in range(24):
        expected = b"".join(pattern(64 << 10, n * 100 + part) for part in range(8))
        assert await read_all(driver, f"/concurrent/{n:02d}/data") == expected
        assert await driver.get_content(f"/concurrent/{n:02d}/small") == f"small {n}".encode()
    assert len(await driver.list("/concurrent")) == 24


async def test_concurrent_replacements_of_one_path_leave_one_whole_version(
    driver: StorageDriver,
) -> None:
    versions = [pattern(256 << 10, seed) for seed in range(16)]
    async with anyio.create_task_group() as tg:
        for version in versions:
            tg.start_soon(driver.put_content, "/contended", version)
    assert await driver.get_content("/contended") in versions
    assert await driver.list("/") == ["/contended"]


# -- direct access -------------------------------------------------------------------------


async def test_redirect_url(driver: StorageDriver, redirects: bool) -> None:
    await driver.put_content("/blob", b"x")
    url = await driver.redirect_url("/blob", "GET")
    if redirects:
        assert isinstance(url, str)
        assert url.startswith(("http://", "https://"))
    else:
        assert url is None


async def test_local_path(driver: StorageDriver, has_local_path: bool) -> None:
    await driver.put_content("/dir/blob", b"local bytes")
    local = driver.local_path("/dir/blob")
    if has_local_path:
        assert isinstance(local, Path)
        assert local.is_absolute()
        assert local.read_bytes() == b"local bytes"
    else:
        assert local is None


async def test_driver_satisfies_protocol(driver: StorageDriver) -> None:
    assert isinstance(driver, StorageDriver)
    assert isinstance(driver.name, str)
    assert driver.min_chunk_size >= 1
