"""The benchmark harness runs end to end (`python -m bench --smoke`), so it cannot rot.

Smoke mode runs every scenario once on tiny sizes against a real Modelyard and a real
registry:2 (Debian's docker-registry), with skopeo and a load tool (hey, or ab); with `--s3`
both servers run on the S3 driver, each on its own bucket of one moto server.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.scenarios import all_metrics
from bench.servers import moto_command

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ("modelyard", "registry2")
METRICS = (
    "push-monolithic",
    "push-chunked",
    "blob-get",
    "manifest-get",
    "blob-head",
    "v2-base",
    "skopeo-push",
    "skopeo-pull",
    "rss-push",
    "rss-pull",
    "pull-cold-upstream",
    "pull-cold-ttfb-min",
    "pull-cold-ttfb",
    "pull-cold-ttfb-max",
    "pull-cold-time",
    "pull-warm-ttfb",
    "pull-warm-time",
)
CAPACITY = ("client-upload", "client-download", "tool-get", "tool-head")


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("docker-registry", "skopeo") if shutil.which(tool) is None]
    if shutil.which("hey") is None and shutil.which("ab") is None:
        missing.append("hey or ab")
    return missing


def _run_smoke(tmp_path: Path, *flags: str) -> tuple[str, dict[str, Any]]:
    """`python -m bench --smoke FLAGS`: the printed table and the JSON results."""
    missing = _missing_tools()
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (apt-get install them); refusing to skip")
    out = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "bench", "--smoke", *flags]
    argv += ["--json", str(out), "--workdir", str(tmp_path)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "ratio" in done.stdout  # the table was printed
    assert "modelyard" in done.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    assert data["meta"]["settings"]["smoke"] is True
    return done.stdout, data


def _check_every_scenario_on_both_servers(data: dict[str, Any]) -> None:
    scenarios = data["scenarios"]
    expected = set(METRICS) | {metric.name for metric in all_metrics()}
    assert expected <= set(scenarios), sorted(expected - set(scenarios))
    for name, entry in scenarios.items():
        assert entry["unit"], name
        assert entry["better"] in ("higher", "lower"), name
        assert set(entry["servers"]) == set(SERVERS), name
        for server in SERVERS:
            result = entry["servers"][server]
            assert len(result["runs"]) == 1, (name, server)
            assert math.isfinite(result["median"]), (name, server)
            assert result["median"] > 0, (name, server)
            assert result["min"] <= result["median"] <= result["max"], (name, server)
        assert entry["ratio"] is not None, name
        assert entry["ratio"] > 0, name
    for name in CAPACITY:
        assert data["capacity"][name]["median"] > 0, name
    # pull-through: one cluster fetched the cold blob from the upstream once, every client got it
    pulled = data["scenarios"]["pull-cold-upstream"]["servers"]
    size_mib = data["meta"]["settings"]["pull_size"] / (1 << 20)
    assert pulled["modelyard"]["median"] == size_mib
    assert pulled["registry2"]["median"] >= size_mib


@pytest.mark.interop
def test_smoke_run_covers_every_scenario_on_both_servers(tmp_path: Path) -> None:
    stdout, data = _run_smoke(tmp_path)
    assert data["meta"]["storage"]["kind"] == "filesystem"
    assert "storage: filesystem" in stdout
    _check_every_scenario_on_both_servers(data)
    assert list(tmp_path.glob("modelyard-bench-*")) == []  # the harness cleaned up


@pytest.mark.interop
def test_smoke_run_on_s3_covers_every_scenario_on_both_servers(tmp_path: Path) -> None:
    try:
        moto_command(0)
    except RuntimeError as exc:
        pytest.fail(f"{exc}; refusing to skip")
    stdout, data = _run_smoke(tmp_path, "--s3")
    storage = data["meta"]["storage"]
    assert storage["kind"] == "s3"
    assert storage["endpoint"].startswith("http://127.0.0.1:")
    assert "storage: s3" in stdout
    assert "moto cores" in stdout
    _check_every_scenario_on_both_servers(data)
    # the blob scenarios recorded the CPU moto spent on each server
    for name in ("push-monolithic", "push-chunked", "rss-push"):
        for server in SERVERS:
            extras = data["scenarios"][name]["servers"][server]["extra"]
            assert all("s3_cores" in extra for extra in extras), (name, server)
    assert list(tmp_path.glob("modelyard-bench-*")) == []  # the harness cleaned up
