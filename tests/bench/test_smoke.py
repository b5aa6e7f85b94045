"""The benchmark harness runs end to end (`python -m bench --smoke`), so it cannot rot.

Smoke mode runs every scenario once on tiny sizes against a real Modelyard and a real
registry:2 (Debian's docker-registry), with skopeo and a load tool (hey, or ab).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scenarios import all_metrics

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
)
CAPACITY = ("client-upload", "client-download", "tool-get", "tool-head")


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("docker-registry", "skopeo") if shutil.which(tool) is None]
    if shutil.which("hey") is None and shutil.which("ab") is None:
        missing.append("hey or ab")
    return missing


@pytest.mark.interop
def test_smoke_run_covers_every_scenario_on_both_servers(tmp_path: Path) -> None:
    missing = _missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out), "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "ratio" in done.stdout  # the table was printed
    assert "modelyard" in done.stdout
    data = json.loads(out.read_text())
    assert data["meta"]["settings"]["smoke"] is True
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
    assert list(tmp_path.glob("modelyard-bench-*")) == []  # the harness cleaned up
