"""Value parsers shared by the extractors: parameter counts, RFC 3339 times, metric numbers."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

_MULTIPLIERS = {
    "": 1,
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "trillion": 10**12,
}
_PARAM_RE = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e(?P<exp>[+-]?[0-9]{1,2}))?"
    r"\s*(?P<unit>[a-z]*)\s*(?:params|parameters)?",
)
_PARAM_MAX_LEN = 64
MAX_PARAMETER_COUNT = 2**63 - 1  # fits a PostgreSQL bigint


def parse_parameter_count(value: object) -> int | None:
    """The number of parameters `value` denotes, or None if it denotes none.

    Accepts non-negative ints, integral floats and strings such as "8b", "7.5B", "361.82 M",
    "350m", "1.2T", "70 billion", "1,000,000" or "7e9" (units are decimal: k, m, b, t; case
    and blanks do not matter). Anything else, e.g. "8x7b" or "-1", gives None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_PARAMETER_COUNT else None
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            return None
        return parse_parameter_count(int(value))
    if not isinstance(value, str) or len(value) > _PARAM_MAX_LEN:
        return None
    text = value.strip().lower().replace(",", "").replace("_", "")
    match = _PARAM_RE.fullmatch(text)
    if match is None or match["unit"] not in _MULTIPLIERS:
        return None
    try:
        number = Decimal(match["number"]).scaleb(int(match["exp"] or 0))
    except InvalidOperation:
        return None
    total = number * _MULTIPLIERS[match["unit"]]
    if match["unit"] == "" and total != total.to_integral_value():
        return None  # a bare "8.5" is not a count of anything
    return parse_parameter_count(int(total.to_integral_value(rounding=ROUND_HALF_EVEN)))


_RFC3339_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[Tt ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<tz>[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)


def parse_rfc3339(value: str) -> datetime | None:
    """The timezone-aware datetime of an RFC 3339 string, or None when it is not one.

    Lenient where tools are: a date alone means midnight UTC, a missing offset means UTC,
    fractions beyond microseconds (Go writes nanoseconds) are cut, a leap second becomes :59.
    Go's zero time (year 1), written by tools that serialise an unset time.Time, gives None.
    """
    match = _RFC3339_RE.fullmatch(value.strip())
    if match is None:
        return None
    tz: timezone = UTC
    offset = match["tz"]
    if offset and offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if offset[0] == "-" else delta)
    micros = int((match["frac"] or "0")[:6].ljust(6, "0"))
    try:
        parsed = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"] or 0),
            int(match["mi"] or 0),
            min(int(match["s"] or 0), 59),
            micros,
            tzinfo=tz,
        )
    except ValueError:
        return None
    return None if parsed.year == 1 else parsed


def to_float(value: object) -> float | None:
    """`value` as a finite float (numbers and numeric strings such as "0.928"), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not 0 < len(value.strip()) <= 64:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def flatten_numeric(
    tree: dict[str, Any], prefix: str = "", depth: int = 0
) -> tuple[dict[str, float], dict[str, Any]]:
    """Split a nested mapping into dotted-key numeric leaves and everything else."""
    numeric: dict[str, float] = {}
    other: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 8:
            more_numeric, more_other = flatten_numeric(value, f"{name}.", depth + 1)
            numeric.update(more_numeric)
            other.update(more_other)
            continue
        number = to_float(value)
        if number is None:
            other[name] = value
        else:
            numeric[name] = number
    return numeric, other


def unique(items: list[str]) -> list[str]:
    """`items` without empty strings and repeats, first occurrence kept."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)
