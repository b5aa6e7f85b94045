"""`modelyard models ls|show|versions` against a real `modelyard serve` process.

The server runs with its defaults: filesystem storage and the embedded PostgreSQL under its
root, so the whole path (push, index, query API, CLI) is the one a user runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry import cli, cli_models
from tests.interop.helpers import ServerProcess, start_modelyard
from tests.registry.index.model_fixtures import SBOM, SIGNATURE, Catalog, push_catalog
from tests.support.s3server import free_port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Catalog]]:
    """A real server holding the catalog of every format."""
    folder = tmp_path_factory.mktemp("cli-models")
    server = start_modelyard(folder / "root", folder / "work")

    async def push() -> Catalog:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await push_catalog(client)

    try:
        yield server, asyncio.run(push())
    finally:
        server.stop()
    server.check_log()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_models.main(["models", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_ls_json_lists_every_model(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    body = run_json(["ls", "--url", server.url], capsys)
    assert body["next_cursor"] is None
    found = {f"{item['repository']}@{item['digest']}" for item in body["items"]}
    assert found == catalog.models()


def test_ls_json_filters_and_follows_cursors(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    args = ["ls", "--url", server.url, "--family", "ormb", "--limit", "2", "--all"]
    body = run_json([*args, "--metric", "training.accuracy>=0.9"], capsys)
    assert {item["digest"] for item in body["items"]} == {
        catalog["team/cnn:1.10.0"],
        catalog["team/cnn:1.9.0"],
    }
    every = run_json([*args], capsys)
    assert len(every["items"]) == 5
    first = run_json(["ls", "--url", server.url, "--family", "ormb", "--limit", "2"], capsys)
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = run_json(
        [*args, "--cursor", first["next_cursor"]],
        capsys,
    )
    seen = [i["digest"] for i in first["items"]] + [i["digest"] for i in rest["items"]]
    assert sorted(seen) == sorted(i["digest"] for i in every["items"])
    body = run_json(
        ["ls", "--url", server.url, "--params-min", "1b", "--format", "gguf", "-q", "llama"],
        capsys,
    )
    assert [item["repository"] for item in body["items"]] == ["ai/llama3.1"]
    body = run_json(
        ["ls", "--url", server.url, "--include-referrers", "--annotation", "org.example.kind"],
        capsys,
    )
    assert {item["digest"] for item in body["items"]} == {catalog["signature"], catalog["sbom"]}


def test_ls_table(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    code, out, _ = run(["ls", "--url", server.url, "--repository", "ai/*"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "REPOSITORY",
        "TAGS",
        "FAMILY",
        "NAME",
        "FORMAT",
        "PARAMS",
        "QUANT",
        "SIZE",
        "PUSHED",
        "DIGEST",
    ]
    assert len(lines) == 3
    llama = next(line for line in lines if line.startswith("ai/llama3.1 "))
    for cell in ("8b", "docker-model", "Meta Llama 3.1 8B Instruct", "gguf", "8.0B", "Q4_K_M"):
        assert cell in llama
    assert catalog["ai/llama3.1:8b"].removeprefix("sha256:")[:12] in llama
    smol = next(line for line in lines if line.startswith("ai/smollm2 "))
    assert "361.8M" in smol
    assert " - " in smol  # no declared name
    # columns line up
    assert lines[1].index("docker-model") == lines[0].index("FAMILY")


def test_ls_table_says_when_more_follow(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = served
    code, out, err = run(["ls", "--url", server.url, "--limit", "1"], capsys)
    assert code == 0
    assert len(out.splitlines()) == 2
    assert "--cursor" in err


def test_show_json_by_tag_digest_and_latest(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    digest = catalog["team/cnn:1.10.0"]
    by_tag = run_json(["show", "--url", server.url, "team/cnn:1.10.0"], capsys)
    by_digest = run_json(["show", "--url", server.url, f"team/cnn@{digest}"], capsys)
    latest = run_json(["show", "--url", server.url, "team/cnn"], capsys)
    assert by_tag == by_digest == latest
    assert by_tag["digest"] == digest
    assert {r["artifact_type"] for r in by_tag["referrers"]} == {SIGNATURE, SBOM}
    assert by_tag["raw_config"]["framework"] == "TensorFlow"
    nightly = run_json(["show", "--url", server.url, "team/cnn:nightly"], capsys)
    assert nightly["digest"] == catalog["team/cnn:nightly"]


def test_show_config(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = served
    code, out, _ = run(["show", "--url", server.url, "llm/xyz:3.1", "--config"], capsys)
    assert code == 0
    assert json.loads(out)["descriptor"]["name"] == "xyz-3-8B-Instruct"


def test_show_table(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    code, out, _ = run(["show", "--url", server.url, "team/cnn:1.10.0"], capsys)
    assert code == 0
    head = out.split("\n\n")[0].splitlines()
    fields = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in head)
    assert fields["repository"] == "team/cnn"
    assert fields["digest"] == catalog["team/cnn:1.10.0"]
    assert fields["framework"] == "TensorFlow"
    assert fields["tags"] == "1.10.0"
    assert fields["subject"] == "-"
    for section in ("METRICS", "LAYERS", "REFERRERS"):
        assert f"\n{section}\n" in out
    assert "training.accuracy  0.95" in out
    assert "application/tar+gzip" in out
    assert SIGNATURE in out
    assert SBOM in out


def test_versions(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = served
    body = run_json(["versions", "--url", server.url, "team/cnn"], capsys)
    assert [v["tag"] for v in body["items"]] == ["1.10.0", "1.9.0", "1.9.0-rc.1", "nightly", "exp"]
    code, out, _ = run(["versions", "--url", server.url, "team/cnn"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "TAG",
        "1.10.0",
        "1.9.0",
        "1.9.0-rc.1",
        "nightly",
        "exp",
    ]


def test_errors_exit_1_with_the_server_message(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = served
    code, out, err = run(["show", "--url", server.url, "no/such:1.0.0"], capsys)
    assert (code, out) == (1, "")
    assert "404 NAME_UNKNOWN" in err
    code, _, err = run(["show", "--url", server.url, "team/cnn:2.0.0"], capsys)
    assert code == 1
    assert "no tag '2.0.0'" in err
    code, _, err = run(["ls", "--url", server.url, "--metric", "accuracy"], capsys)
    assert code == 1
    assert "400 QUERY_INVALID" in err
    assert "metric" in err


def test_unreachable_server_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(["ls", "--url", url, "--timeout", "5"], capsys)
    assert code == 1
    assert f"cannot reach {url}" in err


def test_url_from_the_environment(
    served: tuple[ServerProcess, Catalog],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, catalog = served
    monkeypatch.setenv("MODELYARD_URL", server.url)
    body = run_json(["ls", "--repository", "library/busybox"], capsys)
    assert [item["digest"] for item in body["items"]] == [catalog["library/busybox:1.36.1"]]


def test_as_a_separate_process(served: tuple[ServerProcess, Catalog], tmp_path: Path) -> None:
    server, catalog = served
    result = subprocess.run(
        [sys.executable, "-m", "registry.cli_models", "models", "ls", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
        env={"MODELYARD_URL": server.url, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    found = {item["digest"] for item in json.loads(result.stdout)["items"]}
    assert found == {catalog[key] for key in catalog.digests if key not in ("signature", "sbom")}


def test_injected_client(
    served: tuple[ServerProcess, Catalog], capsys: pytest.CaptureFixture[str]
) -> None:
    server, catalog = served
    with httpx.Client(base_url=server.url) as client:
        code = cli_models.main(["models", "versions", "kit/llama3", "--json"], client=client)
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert [(v["tag"], v["semver"]) for v in body["items"]] == [("latest", "1.0.0")]
    assert body["items"][0]["model"]["digest"] == catalog["kit/llama3:latest"]


def test_registers_into_the_modelyard_parser() -> None:
    """`register` plugs `models` into `registry.cli`'s parser; `args.run(args)` runs it."""
    parser = cli.build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if "models" not in commands.choices:
        cli_models.register(commands)
    args = parser.parse_args(["models", "ls", "--json", "--metric", "a>=1", "--metric", "b<2"])
    assert callable(args.run)
    assert (args.json, args.metric, args.limit) == (True, ["a>=1", "b<2"], 50)
    args = parser.parse_args(["models", "show", "team/cnn:1.0.0", "--url", "http://x:1"])
    assert (args.reference, args.url, args.json) == ("team/cnn:1.0.0", "http://x:1", False)


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("team/cnn", ("team/cnn", None, None)),
        ("team/cnn:1.0.0", ("team/cnn", "1.0.0", None)),
        ("localhost:5000/team/cnn", ("localhost:5000/team/cnn", None, None)),
        ("team/cnn@sha256:abc", ("team/cnn", None, "sha256:abc")),
    ],
)
def test_parse_reference(reference: str, parts: tuple[str, str | None, str | None]) -> None:
    assert cli_models.parse_reference(reference) == parts


def test_human_units() -> None:
    assert [cli_models.human_size(n) for n in (None, 0, 1023, 1024, 5 << 30)] == [
        "-",
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 GiB",
    ]
    assert [cli_models.human_count(n) for n in (None, 999, 361_820_000, 8_030_000_000)] == [
        "-",
        "999",
        "361.8M",
        "8.0B",
    ]
