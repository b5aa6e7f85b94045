"""htpasswd files written by the real `htpasswd -B` (apache2-utils), as registry:2 reads them."""

from __future__ import annotations

import os
from pathlib import Path

from auth.htpasswd import Htpasswd, parse_htpasswd
from tests.interop.helpers import require_tool, run


def test_entries_from_the_real_tool(tmp_path: Path) -> None:
    htpasswd = require_tool("htpasswd")
    path = tmp_path / "htpasswd"
    run([htpasswd, "-B", "-b", "-c", path, "alice", "alice-secret"])
    users = Htpasswd(path)
    assert users.verify("alice", "alice-secret")
    assert not users.verify("alice", "wrong")
    assert not users.verify("bob", "alice-secret")
    run([htpasswd, "-B", "-b", path, "bob", "bob-secret"])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert users.verify("bob", "bob-secret")
    assert users.has("alice")
    assert not users.has("carol")


def test_non_bcrypt_lines_are_ignored() -> None:
    text = "# comment\nmd5user:$apr1$abc$def\nplain:secret\n\nok:$2y$05$" + "a" * 53 + "\n"
    assert list(parse_htpasswd(text)) == ["ok"]


def test_missing_file_knows_nobody(tmp_path: Path) -> None:
    users = Htpasswd(tmp_path / "absent")
    assert not users.verify("alice", "x")
