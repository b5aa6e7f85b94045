"""`modelyard models ls|show|versions`: the model query API of a running server.

Readable tables by default, the API's JSON with `--json`. The server is `--url`, else
`MODELYARD_URL`, else http://127.0.0.1:5000. `register(commands)` adds the `models` command
to the `modelyard` parser; `main(argv, client=...)` runs it alone (tests inject a client).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import httpx  # imported where used: `modelyard serve` should not load httpx and rich

DEFAULT_URL = "http://127.0.0.1:5000"
MAX_CELL = 40
MAX_PAGES = 100_000

Action = Callable[[argparse.Namespace, "httpx.Client", TextIO], int]


class CommandError(Exception):
    """A failure to report on one line of stderr, exit status 1."""


# --------------------------------------------------------------------------- formatting


def _cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None or value == "" or value == []:
        text = "-"
    elif isinstance(value, list):
        text = ",".join(str(item) for item in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_count(count: int | None) -> str:
    if count is None:
        return "-"
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(count)


def short_digest(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return hex_part[:12] if algorithm == "sha256" else digest[:19]


def short_time(text: str | None) -> str:
    """`2025-01-02T03:04:05.678+00:00` as `2025-01-02 03:04`."""
    if not text:
        return "-"
    return text[:16].replace("T", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    for line in [headers, *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")


def print_json(document: Any, out: TextIO) -> None:
    out.write(json.dumps(document, indent=2, ensure_ascii=False))
    out.write("\n")


# --------------------------------------------------------------------------- the API


def _get(client: httpx.Client, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
    import httpx

    try:
        response = client.get(path, params=list(params))
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {client.base_url}: {exc}") from None
    if response.status_code >= 400:
        raise CommandError(_error_text(response))
    try:
        return response.json()
    except ValueError:
        raise CommandError(f"{path}: the server answered with no JSON") from None


def _error_text(response: httpx.Response) -> str:
    try:
        errors = response.json()["errors"]
        first = errors[0]
        text = f"{first['code']}: {first['message']}"
        if first.get("detail") not in (None, {}, ""):
            text += f" ({json.dumps(first['detail'], ensure_ascii=False)})"
        return f"{response.status_code} {text}"
    except (ValueError, KeyError, IndexError, TypeError):
        return f"{response.status_code} {response.reason_phrase} from {response.url}"


def _filters(args: argparse.Namespace) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for option in (
        "q",
        "name",
        "repository",
        "family",
        "framework",
        "format",
        "architecture",
        "license",
        "author",
        "quantization",
        "params_min",
        "params_max",
    ):
        value = getattr(args, option)
        if value is not None:
            params.append((option, value))
    params.extend(("metric", metric) for metric in args.metric)
    params.extend(("annotation", annotation) for annotation in args.annotation)
    if args.include_referrers:
        params.append(("include_referrers", "true"))
    params.append(("limit", str(args.limit)))
    return params


# --------------------------------------------------------------------------- commands


def list_models(args: argparse.Namespace, client: httpx.Client, out: TextIO) -> int:
    params = _filters(args)
    cursor: str | None = args.cursor
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = _get(client, "/api/v1/models", [*params, *([("cursor", cursor)] if cursor else [])])
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None or not args.all:
            break
    if args.json:
        print_json({"items": items, "next_cursor": cursor}, out)
        return 0
    headers = ["REPOSITORY", "TAGS", "FAMILY", "NAME", "FORMAT", "PARAMS", "QUANT", "SIZE"]
    headers += ["PUSHED", "DIGEST"]
    rows = [
        [
            _cell(item["repository"]),
            _cell(item["tags"], 24),
            _cell(item["family"]),
            _cell(item["name"], 32),
            _cell(item["format"], 16),
            human_count(item["parameter_count"]),
            _cell(item["quantization"], 16),
            human_size(item["total_size"]),
            short_time(item["pushed_at"]),
            short_digest(item["digest"]),
        ]
        for item in items
    ]
    table(headers, rows, out)
    if cursor is not None:
        sys.stderr.write(f"more results: --all, or --cursor {cursor}\n")
    return 0


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """`repo@digest`, `repo:tag` or `repo` as (repository, tag, digest)."""
    if "@" in reference:
        name, _, digest = reference.partition("@")
        return name, None, digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :], None
    return reference, None, None


def _digest_of(client: httpx.Client, name: str, tag: str | None) -> str:
    if tag is None:
        found: str = _get(client, f"/api/v1/repositories/{name}/versions/latest")["model"]["digest"]
        return found
    for version in _get(client, f"/api/v1/repositories/{name}/versions")["items"]:
        if version["tag"] == tag:
            digest: str = version["model"]["digest"]
            return digest
    raise CommandError(f"{name}: no tag {tag!r} in the index")


def show_model(args: argparse.Namespace, client: httpx.Client, out: TextIO) -> int:
    name, tag, digest = parse_reference(args.reference)
    if digest is None:
        digest = _digest_of(client, name, tag)
    record = _get(client, f"/api/v1/repositories/{name}/manifests/{digest}")
    if args.config:
        print_json(record["raw_config"], out)
    elif args.json:
        print_json(record, out)
    else:
        show_record(record, out)
    return 0


def show_record(record: dict[str, Any], out: TextIO) -> None:
    fields = [
        ("repository", record["repository"]),
        ("digest", record["digest"]),
        ("tags", record["tags"]),
        ("family", record["family"]),
        ("name", record["name"]),
        ("version", record["version"]),
        ("description", record["description"]),
        ("authors", record["authors"]),
        ("licenses", record["licenses"]),
        ("framework", record["framework"]),
        ("format", record["format"]),
        ("architecture", record["architecture"]),
        ("parameters", human_count(record["parameter_count"])),
        ("precision", record["precision"]),
        ("quantization", record["quantization"]),
        ("size", human_size(record["total_size"])),
        ("created", record["created"]),
        ("pushed", record["pushed_at"]),
        ("media type", record["media_type"]),
        ("artifact type", record["artifact_type"]),
        ("config type", record["config_media_type"]),
        ("subject", record["subject_digest"]),
    ]
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        out.write(f"{label.ljust(width)}  {_cell(value, 200)}\n")
    if record["metrics"]:
        out.write("\nMETRICS\n")
        table(["NAME", "VALUE"], [[k, f"{v:g}"] for k, v in sorted(record["metrics"].items())], out)
    if record["annotations"]:
        out.write("\nANNOTATIONS\n")
        table(["KEY", "VALUE"], [[k, _cell(v, 80)] for k, v in record["annotations"].items()], out)
    out.write("\nLAYERS\n")
    table(
        ["#", "MEDIA TYPE", "SIZE", "DIGEST", "PATH"],
        [
            [
                str(layer["position"]),
                _cell(layer["media_type"], 64),
                human_size(layer["size"]),
                short_digest(layer["digest"]),
                _cell(layer["annotations"].get("org.cncf.model.filepath"), 48),
            ]
            for layer in record["layers"]
        ],
        out,
    )
    if record["referrers"]:
        out.write("\nREFERRERS\n")
        table(
            ["ARTIFACT TYPE", "DIGEST", "SIZE", "PUSHED"],
            [
                [
                    _cell(referrer["artifact_type"], 64),
                    short_digest(referrer["digest"]),
                    human_size(referrer["total_size"]),
                    short_time(referrer["pushed_at"]),
                ]
                for referrer in record["referrers"]
            ],
            out,
        )
    if record["parse_errors"]:
        out.write("\nPARSE ERRORS\n")
        for error in record["parse_errors"]:
            out.write(f"  {error}\n")


def list_versions(args: argparse.Namespace, client: httpx.Client, out: TextIO) -> int:
    body = _get(client, f"/api/v1/repositories/{args.repository}/versions")
    if args.json:
        print_json(body, out)
        return 0
    table(
        ["TAG", "SEMVER", "FAMILY", "SIZE", "TAGGED", "DIGEST"],
        [
            [
                _cell(version["tag"]),
                _cell(version["semver"]),
                _cell(version["model"]["family"]),
                human_size(version["model"]["total_size"]),
                short_time(version["tagged_at"]),
                short_digest(version["model"]["digest"]),
            ]
            for version in body["items"]
        ],
        out,
    )
    if not body["complete"]:
        sys.stderr.write("note: the index of this repository awaits `modelyard reindex`\n")
    return 0


# --------------------------------------------------------------------------- the parser


def _run(args: argparse.Namespace) -> int:
    import httpx

    url = args.url or os.environ.get("MODELYARD_URL") or DEFAULT_URL
    with httpx.Client(base_url=url, timeout=args.timeout) as client:
        return execute(args, client, sys.stdout)


def execute(args: argparse.Namespace, client: httpx.Client, out: TextIO) -> int:
    action: Action = args.models_action
    try:
        return action(args, client, out)
    except CommandError as exc:
        sys.stderr.write(f"modelyard: {exc}\n")
        return 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `models ls|show|versions` to the subcommands of the `modelyard` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"server URL (default: $MODELYARD_URL or {DEFAULT_URL})")
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    common.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    models = commands.add_parser("models", help="query the model index of a running server")
    actions = models.add_subparsers(dest="models_command", required=True)

    ls = actions.add_parser("ls", parents=[common], help="list and search models")
    ls.add_argument("-q", "--query", dest="q", help="free text")
    for option, text in (
        ("name", "declared model name (* wildcard)"),
        ("repository", "repository (* wildcard, e.g. team/*)"),
        ("family", "ormb, modelpack, kitops, docker-model, oci-image, oci-artifact, unknown"),
        ("framework", "framework, e.g. PyTorch"),
        ("format", "model format, e.g. gguf"),
        ("architecture", "architecture, e.g. llama"),
        ("license", "one of the licenses"),
        ("author", "substring of an author"),
        ("quantization", "quantization, e.g. Q4_K_M"),
    ):
        ls.add_argument(f"--{option}", help=text)
    ls.add_argument("--params-min", dest="params_min", help="least parameter count, e.g. 7b")
    ls.add_argument("--params-max", dest="params_max", help="greatest parameter count")
    ls.add_argument(
        "--metric", action="append", default=[], help="threshold, e.g. accuracy>=0.9 (repeatable)"
    )
    ls.add_argument(
        "--annotation", action="append", default=[], help="KEY=VALUE or KEY (repeatable)"
    )
    ls.add_argument(
        "--include-referrers", action="store_true", help="also list signatures, SBOMs, ..."
    )
    ls.add_argument("--limit", type=int, default=50, help="page size (default 50)")
    ls.add_argument("--cursor", help="continue after a previous page")
    ls.add_argument("--all", action="store_true", help="follow the cursor to the last page")
    ls.set_defaults(run=_run, models_action=list_models)

    show = actions.add_parser("show", parents=[common], help="one model's full record")
    show.add_argument("reference", help="REPOSITORY[:TAG|@DIGEST]; no tag: the latest version")
    show.add_argument("--config", action="store_true", help="print only the raw config")
    show.set_defaults(run=_run, models_action=show_model)

    versions = actions.add_parser(
        "versions", parents=[common], help="a repository's tags, newest version first"
    )
    versions.add_argument("repository")
    versions.set_defaults(run=_run, models_action=list_versions)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelyard")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(
    argv: Sequence[str] | None = None,
    client: httpx.Client | None = None,
    out: TextIO | None = None,
) -> int:
    """Run `models ...` alone; with `client`, requests go through it instead of `--url`."""
    args = build_parser().parse_args(argv)
    if client is None:
        result: int = args.run(args)
        return result
    return execute(args, client, out or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
