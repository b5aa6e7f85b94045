"""An htpasswd file of bcrypt entries (`htpasswd -B`), as registry:2 reads it.

The file is re-read when its modification time changes, so users can be added without a
restart. Lines other than `user:$2y$...` (comments, other hash schemes) are ignored with a
warning, as registry:2 accepts only bcrypt.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from auth.passwords import verify_password

log = logging.getLogger("modelyard.auth")


def parse_htpasswd(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            log.warning("htpasswd line %d ignored: not a bcrypt entry", number)
            continue
        entries[user] = hashed
    return entries


class Htpasswd:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: int | None = None
        self._entries: dict[str, str] = {}

    def _current(self) -> dict[str, str]:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError as exc:
            log.warning("htpasswd file %s unreadable: %s", self.path, exc.strerror)
            return {}
        if mtime != self._mtime:
            self._entries = parse_htpasswd(self.path.read_text())
            self._mtime = mtime
        return self._entries

    def has(self, username: str) -> bool:
        return username in self._current()

    def verify(self, username: str, password: str) -> bool:
        hashed = self._current().get(username)
        return hashed is not None and verify_password(password, hashed)
