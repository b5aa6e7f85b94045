"""Read queries of the model index behind `/api/v1/`: list, versions, one full record.

Every value from a request reaches PostgreSQL as a bind parameter (`$n`); the SQL text is
assembled only from the fixed fragments in this module. Results are JSON-ready dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.index.filters import Cursor, ModelQuery
from registry.index.versions import TaggedVersion, ordered, tagged_version

#: metric comparison operator -> its SQL (a fixed whitelist, never the request's text)
_SQL_OPERATORS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "="}

_SUMMARY = """
    m.repository, m.digest, m.media_type, m.artifact_type, m.config_media_type,
    m.subject_digest, m.total_size, m.family, m.name, m.version, m.description, m.authors,
    m.licenses, m.framework, m.model_format, m.architecture, m.parameter_count, m.precision,
    m.quantization, m.metrics, m.annotations, m.created, m.pushed_at,
    ARRAY(SELECT t.tag FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest
          ORDER BY t.tag) AS tags"""

_DETAIL = """
    m.config_digest, m.manifest_size, m.semver_major, m.semver_minor, m.semver_patch,
    m.semver_pre, m.hyperparameters, m.signature, m.hardware, m.source, m.labels, m.extra,
    m.raw_config, m.parse_errors"""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def summary(row: Any) -> dict[str, Any]:
    """The list item of a manifest row selected with `_SUMMARY`."""
    return {
        "repository": row["repository"],
        "digest": row["digest"],
        "tags": list(row["tags"]),
        "media_type": row["media_type"],
        "artifact_type": row["artifact_type"],
        "config_media_type": row["config_media_type"],
        "subject_digest": row["subject_digest"],
        "family": row["family"],
        "name": row["name"],
        "version": row["version"],
        "description": row["description"],
        "authors": list(row["authors"]),
        "licenses": list(row["licenses"]),
        "framework": row["framework"],
        "format": row["model_format"],
        "architecture": row["architecture"],
        "parameter_count": row["parameter_count"],
        "precision": row["precision"],
        "quantization": row["quantization"],
        "metrics": row["metrics"],
        "annotations": row["annotations"],
        "total_size": row["total_size"],
        "created": _iso(row["created"]),
        "pushed_at": _iso(row["pushed_at"]),
    }


def like_pattern(text: str, glob: bool = True, contains: bool = False) -> str:
    """A LIKE pattern (escape character `\\`) matching `text`; `*` is a wildcard when `glob`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if glob:
        escaped = escaped.replace("*", "%")
    return f"%{escaped}%" if contains else escaped


class _Where:
    """Conditions joined by AND, with their bind parameters numbered in order."""

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.conditions: list[str] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str) -> None:
        self.conditions.append(condition)

    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "true"


def _equal_or_glob(where: _Where, column: str, value: str, fold_case: bool) -> None:
    """`column` equals `value`, or matches it as a glob when it holds a `*`."""
    if "*" in value:
        operator, parameter = "LIKE", where.param(like_pattern(value))
    else:
        operator, parameter = "=", where.param(value)
    left, right = column, f"{parameter}::text"
    if fold_case:
        left, right = f"lower({left})", f"lower({right})"
    escape = " ESCAPE '\\'" if operator == "LIKE" else ""
    where.add(f"{left} {operator} {right}{escape}")


def _text_filters(where: _Where, query: ModelQuery) -> None:
    if query.text is not None:
        words = where.param(query.text)
        pattern = where.param(like_pattern(query.text, glob=False, contains=True))
        where.add(
            f"(m.search @@ websearch_to_tsquery('simple', {words}::text)"
            f" OR m.repository ILIKE {pattern}::text ESCAPE '\\'"
            f" OR m.name ILIKE {pattern}::text ESCAPE '\\')"
        )
    if query.name is not None:
        _equal_or_glob(where, "m.name", query.name, fold_case=True)
    if query.repository is not None:
        _equal_or_glob(where, "m.repository", query.repository, fold_case=False)
    if query.family is not None:
        where.add(f"m.family = {where.param(query.family)}::text")
    for column, value in (
        ("framework", query.framework),
        ("model_format", query.model_format),
        ("architecture", query.architecture),
        ("quantization", query.quantization),
    ):
        if value is not None:
            where.add(f"lower(m.{column}) = lower({where.param(value)}::text)")
    if query.license is not None:
        where.add(
            "EXISTS (SELECT 1 FROM unnest(m.licenses) AS l(v)"
            f" WHERE lower(l.v) = lower({where.param(query.license)}::text))"
        )
    if query.author is not None:
        pattern = where.param(like_pattern(query.author, glob=False, contains=True))
        where.add(
            "EXISTS (SELECT 1 FROM unnest(m.authors) AS a(v)"
            f" WHERE a.v ILIKE {pattern}::text ESCAPE '\\')"
        )


def _any_metric(where: _Where, name: str, op: str, value: float) -> str:
    """Some metrics key matching `name` holds a number `op value`: keys matching the glob
    when `name` has a `*`, else (a bare name) the key `name` or any key ending in `.name`,
    as ORMB's `group.name` keys do (`accuracy` finds `training.accuracy`)."""
    if "*" in name:
        patterns = [like_pattern(name)]
    else:
        patterns = [like_pattern(name, glob=False), "%." + like_pattern(name, glob=False)]
    keys = where.param(patterns)
    threshold = where.param(value)
    return (
        "EXISTS (SELECT 1 FROM jsonb_each(m.metrics) AS e(key, value)"
        f" WHERE e.key LIKE ANY ({keys}::text[]) AND CASE WHEN jsonb_typeof(e.value) = 'number'"
        f" THEN e.value::float8 END {op} {threshold}::float8)"
    )


def _model_filters(where: _Where, query: ModelQuery) -> None:
    if query.params_min is not None:
        where.add(f"m.parameter_count >= {where.param(query.params_min)}::bigint")
    if query.params_max is not None:
        where.add(f"m.parameter_count <= {where.param(query.params_max)}::bigint")
    for metric in query.metrics:
        op = _SQL_OPERATORS[metric.op]
        if "*" in metric.name or "." not in metric.name:
            where.add(_any_metric(where, metric.name, op, metric.value))
        else:
            key = where.param(metric.name)
            threshold = where.param(metric.value)
            where.add(
                f"CASE WHEN jsonb_typeof(m.metrics -> {key}::text) = 'number'"
                f" THEN (m.metrics -> {key}::text)::float8 END {op} {threshold}::float8"
            )
    for annotation in query.annotations:
        if annotation.value is None:
            where.add(f"m.annotations ? {where.param(annotation.key)}::text")
        else:
            contained = where.param({annotation.key: annotation.value})
            where.add(f"m.annotations @> {contained}::jsonb")
    if not query.include_referrers:
        where.add("m.subject_digest IS NULL")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


async def list_models(pool: Any, query: ModelQuery) -> Page:
    """One page of manifests matching `query`, newest push first, and the cursor after it."""
    where = _Where()
    _text_filters(where, query)
    _model_filters(where, query)
    if query.namespaces is not None:
        namespaces = where.param(list(query.namespaces))
        repositories = where.param(list(query.repositories))
        where.add(
            f"(split_part(m.repository, '/', 1) = ANY({namespaces}::text[])"
            f" OR m.repository = ANY({repositories}::text[]))"
        )
    if query.cursor is not None:
        at = where.param(query.cursor.pushed_at)
        repository = where.param(query.cursor.repository)
        digest = where.param(query.cursor.digest)
        where.add(
            f"(m.pushed_at < {at}::timestamptz OR (m.pushed_at = {at}::timestamptz"
            f" AND (m.repository, m.digest) > ({repository}::text, {digest}::text)))"
        )
    limit = where.param(query.limit + 1)
    rows = await pool.fetch(
        f"SELECT {_SUMMARY} FROM manifests m WHERE {where.sql()}"
        f" ORDER BY m.pushed_at DESC, m.repository, m.digest LIMIT {limit}::int",
        *where.args,
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = Cursor(last["pushed_at"], last["repository"], last["digest"]).encode()
    return Page([summary(row) for row in rows], cursor)


class RepositoryUnknown(LookupError):
    """The index has never seen the repository."""


async def repository_state(pool: Any, name: str) -> bool:
    """Whether the index of `name` is marked incomplete; RepositoryUnknown if never seen."""
    state = await pool.fetchrow("SELECT needs_reindex FROM repositories WHERE name = $1", name)
    if state is None:
        raise RepositoryUnknown(name)
    return bool(state["needs_reindex"])


async def tagged_versions(pool: Any, name: str) -> list[TaggedVersion]:
    """Every tag of repository `name` with its manifest, in version order."""
    rows = await pool.fetch(
        f"SELECT tg.tag AS version_tag, tg.updated_at AS tagged_at, {_SUMMARY}"
        " FROM tags tg JOIN manifests m ON m.repository = tg.repository AND m.digest = tg.digest"
        " WHERE tg.repository = $1::text",
        name,
    )
    return ordered(
        [tagged_version(r["version_tag"], r["tagged_at"], r["version"], r) for r in rows]
    )


def version_item(version: TaggedVersion) -> dict[str, Any]:
    return {
        "tag": version.tag,
        "semver": version.semver_text,
        "prerelease": version.prerelease,
        "tagged_at": _iso(version.tagged_at),
        "model": summary(version.row),
    }


def _raw_config(text: str | None) -> tuple[Any, bool]:
    """The config parsed as JSON when it parses, else its text; and whether it parsed."""
    if text is None:
        return None, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return text, False


async def manifest_record(pool: Any, name: str, digest: str) -> dict[str, Any] | None:
    """The full record of one manifest: every column, layers, tags, referrers, raw config."""
    async with pool.acquire() as connection:
        row = await connection.fetchrow(
            f"SELECT {_SUMMARY}, {_DETAIL} FROM manifests m"
            " WHERE m.repository = $1::text AND m.digest = $2::text",
            name,
            digest,
        )
        if row is None:
            return None
        layers = await connection.fetch(
            "SELECT position, media_type, digest, size, annotations FROM layers"
            " WHERE repository = $1::text AND manifest_digest = $2::text ORDER BY position",
            name,
            digest,
        )
        tags = await connection.fetch(
            "SELECT tag, updated_at FROM tags WHERE repository = $1::text AND digest = $2::text"
            " ORDER BY tag",
            name,
            digest,
        )
        referrers = await connection.fetch(
            "SELECT digest, media_type, coalesce(artifact_type, config_media_type) AS kind,"
            " manifest_size, total_size, family, annotations, created, pushed_at"
            " FROM manifests WHERE repository = $1::text AND subject_digest = $2::text"
            " ORDER BY pushed_at, digest",
            name,
            digest,
        )
    record = summary(row)
    raw_config, parsed = _raw_config(row["raw_config"])
    semver = None
    if row["semver_major"] is not None:
        semver = {
            "major": row["semver_major"],
            "minor": row["semver_minor"],
            "patch": row["semver_patch"],
            "prerelease": row["semver_pre"],
        }
    record.update(
        {
            "config_digest": row["config_digest"],
            "manifest_size": row["manifest_size"],
            "semver": semver,
            "hyperparameters": row["hyperparameters"],
            "signature": row["signature"],
            "hardware": row["hardware"],
            "source": row["source"],
            "labels": row["labels"],
            "extra": row["extra"],
            "parse_errors": list(row["parse_errors"]),
            "raw_config": raw_config,
            "raw_config_is_json": parsed,
            "layers": [
                {
                    "position": layer["position"],
                    "media_type": layer["media_type"],
                    "digest": layer["digest"],
                    "size": layer["size"],
                    "annotations": layer["annotations"],
                }
                for layer in layers
            ],
            "tag_details": [
                {"tag": tag["tag"], "updated_at": _iso(tag["updated_at"])} for tag in tags
            ],
            "referrers": [
                {
                    "digest": referrer["digest"],
                    "media_type": referrer["media_type"],
                    "artifact_type": referrer["kind"],
                    "manifest_size": referrer["manifest_size"],
                    "total_size": referrer["total_size"],
                    "family": referrer["family"],
                    "annotations": referrer["annotations"],
                    "created": _iso(referrer["created"]),
                    "pushed_at": _iso(referrer["pushed_at"]),
                }
                for referrer in referrers
            ],
        }
    )
    return record
