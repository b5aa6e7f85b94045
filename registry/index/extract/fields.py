"""Typed, forgiving access to parsed JSON: wrong types become parse errors, never exceptions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .record import clean_text
from .values import parse_rfc3339

MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_LIST_ITEMS = 1000


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class Fields:
    """Reads fields of JSON objects, appending a message to `errors` for each misfit.

    `where` arguments are dotted paths used in messages ("config.descriptor"). Absent keys
    and JSON nulls are not errors: the spec of every format makes optional fields nullable.
    """

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def _get(self, parent: dict[str, Any] | None, key: str) -> Any:
        return None if parent is None else parent.get(key)

    def obj(self, parent: dict[str, Any] | None, key: str, where: str) -> dict[str, Any] | None:
        value = self._get(parent, key)
        if value is None or isinstance(value, dict):
            return value
        self.error(f"{where}.{key}", f"expected object, got {_type_name(value)}")
        return None

    def array(self, parent: dict[str, Any] | None, key: str, where: str) -> list[Any]:
        value = self._get(parent, key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.error(f"{where}.{key}", f"expected array, got {_type_name(value)}")
        return []

    def text(self, parent: dict[str, Any] | None, key: str, where: str) -> str | None:
        """A non-blank string; numbers are turned into text (and reported)."""
        return self.coerce_text(self._get(parent, key), f"{where}.{key}")

    def coerce_text(self, value: object, where: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            cleaned = clean_text(value).strip()
            return cleaned or None
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(where, f"expected string, got number {value!r}")
            return str(value)
        self.error(where, f"expected string, got {_type_name(value)}")
        return None

    def texts(self, parent: dict[str, Any] | None, key: str, where: str) -> list[str]:
        """A list of strings; a lone string counts as a list of one (and is reported)."""
        value = self._get(parent, key)
        if value is None:
            return []
        if isinstance(value, str):
            self.error(f"{where}.{key}", "expected array of strings, got string")
            value = [value]
        if not isinstance(value, list):
            self.error(f"{where}.{key}", f"expected array of strings, got {_type_name(value)}")
            return []
        out: list[str] = []
        for index, item in enumerate(value[:MAX_LIST_ITEMS]):
            text = self.coerce_text(item, f"{where}.{key}[{index}]")
            if text is not None:
                out.append(text)
        return out

    def string_map(self, parent: dict[str, Any] | None, key: str, where: str) -> dict[str, str]:
        """An object of string values; other values are dropped and reported."""
        value = self.obj(parent, key, where)
        out: dict[str, str] = {}
        for name, item in (value or {}).items():
            text = self.coerce_text(item, f"{where}.{key}.{name}")
            if text is not None:
                out[clean_text(name)] = text
        return out

    def flag(self, parent: dict[str, Any] | None, key: str, where: str) -> bool | None:
        value = self._get(parent, key)
        if value is None or isinstance(value, bool):
            return value
        self.error(f"{where}.{key}", f"expected boolean, got {_type_name(value)}")
        return None

    def time(self, parent: dict[str, Any] | None, key: str, where: str) -> datetime | None:
        value = self._get(parent, key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(f"{where}.{key}", f"expected RFC 3339 string, got {_type_name(value)}")
            return None
        text = clean_text(value).strip()
        if not text:
            return None
        parsed = parse_rfc3339(text)
        if parsed is None and not text.startswith("0001-01-01"):
            self.error(f"{where}.{key}", f"not an RFC 3339 time: {text[:64]!r}")
        return parsed


def _keep_constant(name: str) -> str:
    return name  # NaN and Infinity stay readable text instead of non-JSON floats


def decode_config(
    config: bytes | None, fields: Fields, required: bool = True, where: str = "config"
) -> dict[str, Any]:
    """The config blob as a JSON object; {} (with a parse error under `where`) otherwise."""
    if config is None:
        if required:
            fields.error(where, "blob not available")
        return {}
    if not isinstance(config, bytes | bytearray | memoryview):
        fields.error(where, f"expected bytes, got {type(config).__name__}")
        return {}
    if len(config) > MAX_CONFIG_BYTES:
        fields.error(where, f"blob too large to parse ({len(config)} bytes)")
        return {}
    try:
        text = bytes(config).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fields.error(where, f"not UTF-8: {exc.reason} at byte {exc.start}")
        return {}
    try:
        document = json.loads(text, parse_constant=_keep_constant)
    except json.JSONDecodeError as exc:
        fields.error(where, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return {}
    except RecursionError:
        fields.error(where, "invalid JSON: nested too deeply")
        return {}
    if not isinstance(document, dict):
        fields.error(where, f"expected a JSON object, got {_type_name(document)}")
        return {}
    return document


def unknown_keys(document: dict[str, Any], known: frozenset[str]) -> list[str]:
    """Top-level keys of `document` that the format does not define, sorted."""
    return sorted(clean_text(str(key)) for key in document if key not in known)
