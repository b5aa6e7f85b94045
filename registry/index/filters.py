"""Query parameters of the model API, parsed and checked; no SQL here.

`parse_model_query` turns the parameters of `GET /api/v1/models` into a `ModelQuery`. Any
unknown, repeated or malformed parameter raises `InvalidQuery` naming it, so a typo such as
`licence=` is an error and never a silently ignored filter.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from registry.index.extract import FAMILIES, parse_parameter_count

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_VALUE_LENGTH = 1024
MAX_REPEATED = 32

#: metric comparison operators, longest first so that `>=` is not read as `>`
OPERATORS = (">=", "<=", ">", "<", "=")

#: single-valued text filters: query parameter -> ModelQuery field
TEXT_FILTERS = {
    "q": "text",
    "name": "name",
    "repository": "repository",
    "family": "family",
    "framework": "framework",
    "format": "model_format",
    "architecture": "architecture",
    "license": "license",
    "author": "author",
    "quantization": "quantization",
}
OTHER_PARAMETERS = frozenset(
    {"params_min", "params_max", "metric", "annotation", "include_referrers", "limit", "cursor"}
)
MODEL_PARAMETERS = frozenset(TEXT_FILTERS) | OTHER_PARAMETERS
REPEATABLE = frozenset({"metric", "annotation"})

_METRIC = re.compile(r"\s*(?P<name>[^<>=]+?)\s*(?P<op>>=|<=|>|<|=)\s*(?P<value>[^<>=]+?)\s*")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class InvalidQuery(ValueError):
    """A query parameter the API cannot accept."""

    def __init__(self, parameter: str, value: str | None, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason

    def detail(self) -> dict[str, str | None]:
        return {"parameter": self.parameter, "value": self.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class MetricFilter:
    """`name op value`; `name` is a metrics key, or a glob over keys when it has `*`."""

    name: str
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class AnnotationFilter:
    """`key=value` (exact), or `key` alone: the manifest has that annotation."""

    key: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after the last item of a page, in (pushed_at desc, repository, digest)."""

    pushed_at: datetime
    repository: str
    digest: str

    def encode(self) -> str:
        raw = json.dumps([self.pushed_at.isoformat(), self.repository, self.digest])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            pushed_at, repository, digest = json.loads(raw)
            when = datetime.fromisoformat(pushed_at)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidQuery("cursor", text, "not a cursor of this API") from None
        if (
            when.tzinfo is None
            or not isinstance(repository, str)
            or not isinstance(digest, str)
            or "\x00" in repository + digest
        ):
            raise InvalidQuery("cursor", text, "not a cursor of this API")
        return cls(when, repository, digest)


@dataclass(frozen=True)
class ModelQuery:
    """The filters of one model list request; None or empty means "any"."""

    text: str | None = None
    name: str | None = None
    repository: str | None = None
    family: str | None = None
    framework: str | None = None
    model_format: str | None = None
    architecture: str | None = None
    license: str | None = None
    author: str | None = None
    quantization: str | None = None
    params_min: int | None = None
    params_max: int | None = None
    metrics: tuple[MetricFilter, ...] = ()
    annotations: tuple[AnnotationFilter, ...] = ()
    include_referrers: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    #: when set, only repositories of these namespaces or named in `repositories` show
    #: (what the caller may pull); None shows everything
    namespaces: tuple[str, ...] | None = None
    repositories: tuple[str, ...] = ()


def parse_metric(text: str) -> MetricFilter:
    """`accuracy>=0.9`, `training.acc < 0.5`, `*.f1=1`."""
    match = _METRIC.fullmatch(text)
    if match is None:
        raise InvalidQuery(
            "metric", text, "expected NAME OP NUMBER with OP one of " + ", ".join(OPERATORS)
        )
    if match["name"].endswith("!"):
        raise InvalidQuery("metric", text, "!= is not supported; use < or >")
    try:
        value = float(match["value"])
    except ValueError:
        raise InvalidQuery("metric", text, f"{match['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidQuery("metric", text, "the threshold must be a finite number")
    return MetricFilter(match["name"], match["op"], value)


def parse_annotation(text: str) -> AnnotationFilter:
    """`key=value` (split at the first `=`) or `key`."""
    key, equals, value = text.partition("=")
    if not key:
        raise InvalidQuery("annotation", text, "expected KEY=VALUE or KEY")
    return AnnotationFilter(key, value if equals else None)


def parse_bool(parameter: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidQuery(parameter, text, "expected true or false")


def parse_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        raise InvalidQuery("limit", text, "not an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", text, f"must be between 1 and {MAX_LIMIT}")
    return limit


def _parameter_count(parameter: str, text: str) -> int:
    count = parse_parameter_count(text)
    if count is None:
        raise InvalidQuery(parameter, text, "expected a parameter count such as 7000000 or 7b")
    return count


def group_parameters(
    items: Iterable[tuple[str, str]], allowed: frozenset[str], repeatable: frozenset[str]
) -> dict[str, list[str]]:
    """The values of each parameter; unknown, over-long and wrongly repeated ones raise."""
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        if key not in allowed:
            raise InvalidQuery(key, value, "unknown query parameter")
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidQuery(key, value[:64] + "...", f"longer than {MAX_VALUE_LENGTH}")
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL: it would fail the query (a 500) instead
            raise InvalidQuery(key, value, "contains a NUL character")
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        limit = MAX_REPEATED if key in repeatable else 1
        if len(values) > limit:
            raise InvalidQuery(key, values[-1], f"given more than {limit} time(s)")
    return grouped


def parse_model_query(items: Iterable[tuple[str, str]]) -> ModelQuery:
    """The ModelQuery of `GET /api/v1/models` query parameters (name, value pairs)."""
    grouped = group_parameters(items, MODEL_PARAMETERS, REPEATABLE)
    single = {key: values[0] for key, values in grouped.items() if key not in REPEATABLE}
    fields: dict[str, object] = {}
    for parameter, field in TEXT_FILTERS.items():
        value = single.get(parameter, "").strip()
        if value:
            fields[field] = value
    family = fields.get("family")
    if family is not None and family not in FAMILIES:
        raise InvalidQuery("family", str(family), "one of " + ", ".join(sorted(FAMILIES)))
    for parameter in ("params_min", "params_max"):
        if single.get(parameter, "").strip():
            fields[parameter] = _parameter_count(parameter, single[parameter])
    low, high = fields.get("params_min"), fields.get("params_max")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise InvalidQuery("params_min", single["params_min"], "greater than params_max")
    fields["metrics"] = tuple(parse_metric(text) for text in grouped.get("metric", []))
    fields["annotations"] = tuple(parse_annotation(text) for text in grouped.get("annotation", []))
    if "include_referrers" in single:
        fields["include_referrers"] = parse_bool("include_referrers", single["include_referrers"])
    if "limit" in single:
        fields["limit"] = parse_limit(single["limit"])
    if single.get("cursor"):
        fields["cursor"] = Cursor.decode(single["cursor"])
    return ModelQuery(**fields)  # type: ignore[arg-type]
