"""Runs the chosen scenarios against both servers and gathers the results."""

from __future__ import annotations

import contextlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

import psutil

from bench import capacity
from bench.pullthrough import PullThrough
from bench.report import Results
from bench.scenarios import SCENARIOS, Scenario
from bench.servers import S3_CHUNK, SERVERS, S3Service, ServerName, running_s3
from bench.settings import Settings
from bench.units import format_size

Log = Callable[[str], None]
#: every scenario, in the order they run; pull-through brings its own clusters
ALL: tuple[type[Scenario], ...] = (*SCENARIOS, PullThrough)


def _tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def meta(settings: Settings, names: list[str], s3: S3Service | None = None) -> dict[str, object]:
    storage: dict[str, object] = {"kind": settings.storage}
    if s3 is not None:
        storage.update(
            endpoint=s3.endpoint,
            note="one moto server, one fresh bucket per server and scenario",
            chunksize=S3_CHUNK,
            registry2_redirect="disabled",
        )
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "load_average": list(psutil.getloadavg()),
        },
        "versions": {
            "modelyard": _package("modelyard"),
            "modelyard_http_server": settings.http_server or "default (granian)",
            "granian": _package("granian"),
            "uvicorn": _package("uvicorn"),
            "starlette": _package("starlette"),
            "uvloop": _package("uvloop"),
            "httptools": _package("httptools"),
            "registry2": _tool_version(["docker-registry", "--version"]),
            "skopeo": _tool_version(["skopeo", "--version"]),
            "load_tool": settings.load_tool,
            "moto": _package("moto") if s3 is not None else "not used",
        },
        "storage": storage,
        "settings": {
            "size": settings.size,
            "size_text": format_size(settings.size),
            "runs": settings.runs,
            "smoke": settings.smoke,
            "chunked_size": settings.chunked_size,
            "chunk": settings.chunk,
            "rss_size": settings.rss_size,
            "req_duration_s": settings.duration,
            "req_count": settings.requests if settings.duration is None else None,
            "concurrency": settings.concurrency,
            "layer_sizes": list(settings.layer_sizes),
            "pull_size": settings.pull_size,
            "pull_instances": settings.instances,
            "pull_clients": settings.clients,
            "scenarios": names,
        },
    }


def _order(run: int) -> tuple[ServerName, ...]:
    """Alternate which server goes first, so neither always meets a warmer (or busier) box."""
    return SERVERS if run % 2 == 0 else tuple(reversed(SERVERS))


def run_scenario(
    scenario: Scenario,
    settings: Settings,
    results: Results,
    log: Log,
    s3: S3Service | None = None,
) -> None:
    folder = settings.workdir / "servers" / scenario.name
    with scenario.servers(folder, s3, settings.http_server) as servers:
        for server in servers.values():
            scenario.setup(server)
        try:
            for run in range(settings.runs):
                scenario.before_run(run)
                for name in _order(run):
                    samples = scenario.measure(servers[name], run)
                    for metric in scenario.metrics:
                        results.add(metric, name, samples[metric.name])
                    summary = ", ".join(
                        f"{m.name} {samples[m.name].value:.1f} {m.unit}" for m in scenario.metrics
                    )
                    log(f"  run {run + 1}/{settings.runs} {name:9} {summary}")
                scenario.after_run(run)
        finally:
            scenario.teardown()


def selected(only: list[str] | None) -> tuple[list[type[Scenario]], bool]:
    """Scenario classes named in `only` (scenario or metric names), and whether to run the
    harness-capacity baseline."""
    if not only:
        return list(ALL), True
    known = {s.name for s in ALL} | {m.name for s in ALL for m in s.metrics}
    unknown = set(only) - known - {"capacity"}
    if unknown:
        raise ValueError(f"unknown scenario(s) {sorted(unknown)}; known: {sorted(known)}")
    chosen = [s for s in ALL if s.name in only or any(m.name in only for m in s.metrics)]
    return chosen, "capacity" in only


def run(settings: Settings, only: list[str] | None, log: Log) -> Results:
    chosen, with_capacity = selected(only)
    with contextlib.ExitStack() as stack:
        s3 = None
        if settings.storage == "s3":
            s3 = stack.enter_context(running_s3(settings.workdir / "moto"))
            log(f"s3: moto on {s3.endpoint}, a fresh bucket per server and scenario")
        results = Results(meta(settings, [s.name for s in chosen], s3))
        if with_capacity:
            log("capacity: the harness against trivial servers")
            results.capacity = capacity.measure(settings)
            for c in results.capacity:
                log(f"  {c.name}: {c.median:,.1f} {c.unit}")
        for cls in chosen:
            log(f"{cls.name}:")
            run_scenario(cls(settings), settings, results, log, s3)
    return results
