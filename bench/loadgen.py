"""Requests per second with an external load tool: `hey` (HTTP/1.1 keep-alive) or `ab`.

`hey` is preferred: `ab` speaks HTTP/1.0 and only reuses a connection when the response
says `Connection: keep-alive`, which uvicorn does not send to HTTP/1.0 clients, so under
`ab -k` Modelyard would pay one TCP connection per request while registry:2 would not.
The CPU time the tool itself used is recorded, to show whether it could be the bottleneck.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Tool = Literal["hey", "ab"]


class LoadError(RuntimeError):
    """The load tool failed or saw failed requests."""


@dataclass(frozen=True)
class LoadResult:
    tool: Tool
    requests: int
    failed: int
    seconds: float
    rps: float
    tool_cpu_seconds: float
    keepalive_requests: int | None = None  # ab only

    @property
    def tool_cores(self) -> float:
        """Cores the load tool kept busy on average."""
        return self.tool_cpu_seconds / self.seconds if self.seconds > 0 else 0.0


def pick_tool(wanted: str = "auto") -> Tool:
    if wanted in ("auto", "hey") and shutil.which("hey"):
        return "hey"
    if wanted in ("auto", "ab") and shutil.which("ab"):
        return "ab"
    raise LoadError(f"load tool {wanted!r} not found: apt-get install hey (or apache2-utils)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(
    tool: Tool,
    url: str,
    method: str,
    headers: Mapping[str, str],
    concurrency: int,
    duration: float | None,
    requests: int,
) -> list[str]:
    if tool == "hey":
        argv = ["hey", "-c", str(concurrency), "-m", method, "-t", "30", "-disable-compression"]
        argv += ["-z", f"{duration:g}s"] if duration else ["-n", str(max(requests, concurrency))]
        for key, value in headers.items():
            argv += ["-A", value] if key.lower() == "accept" else ["-H", f"{key}: {value}"]
        return [*argv, url]
    if method not in ("GET", "HEAD"):
        raise LoadError(f"ab cannot send {method}")
    argv = ["ab", "-k", "-q", "-r", "-s", "30", "-c", str(concurrency)]
    argv += ["-t", f"{duration:g}", "-n", "100000000"] if duration else ["-n", str(requests)]
    if method == "HEAD":
        argv.append("-i")
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    return [*argv, url]


def _number(pattern: str, text: str, default: float | None = None) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        if default is not None:
            return default
        raise LoadError(f"no {pattern!r} in the load tool's output:\n{text[-2000:]}")
    return float(match.group(1))


def _parse_hey(text: str, tool_cpu: float) -> LoadResult:
    statuses = [
        (int(s), int(n)) for s, n in re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", text, re.M)
    ]
    errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s+(?!\d+ responses)\S", text, re.M))
    ok = sum(n for status, n in statuses if 200 <= status < 300)
    total = sum(n for _, n in statuses) + errors
    seconds = _number(r"^\s*Total:\s+([\d.]+) secs", text)
    return LoadResult("hey", total, total - ok, seconds, ok / seconds, tool_cpu)


def _parse_ab(text: str, tool_cpu: float) -> LoadResult:
    complete = int(_number(r"^Complete requests:\s+(\d+)", text))
    failed = int(_number(r"^Failed requests:\s+(\d+)", text, 0))
    non2xx = int(_number(r"^Non-2xx responses:\s+(\d+)", text, 0))
    seconds = _number(r"^Time taken for tests:\s+([\d.]+) seconds", text)
    keepalive = int(_number(r"^Keep-Alive requests:\s+(\d+)", text, 0))
    bad = failed + non2xx
    return LoadResult("ab", complete, bad, seconds, (complete - bad) / seconds, tool_cpu, keepalive)


def run_load(
    url: str,
    *,
    tool: Tool,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    concurrency: int = 64,
    duration: float | None = None,
    requests: int = 1000,
    allow_failures: bool = False,
) -> LoadResult:
    """Hammer `url` for `duration` seconds (or `requests` requests) with `concurrency` clients."""
    argv = _command(tool, url, method, headers or {}, concurrency, duration, requests)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    timeout = (duration or 0) + 120 + requests / 100
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise LoadError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    result = _parse_hey(done.stdout, cpu) if tool == "hey" else _parse_ab(done.stdout, cpu)
    if result.requests == 0 or (result.failed and not allow_failures):
        raise LoadError(
            f"{result.failed} of {result.requests} requests failed ({' '.join(argv)}):\n"
            f"{done.stdout[-2000:]}"
        )
    if result.seconds > wall * 1.5:
        raise LoadError(f"implausible duration {result.seconds}s in {wall}s")
    return result
