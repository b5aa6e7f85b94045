"""Results of a benchmark run: median and spread per metric and server, the table, the JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.capacity import Capacity
from bench.scenarios import Extra, Metric, Sample
from bench.servers import SERVERS, ServerName
from bench.units import format_size


@dataclass
class ServerResult:
    values: list[float] = field(default_factory=list)
    extras: list[Extra] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def extra_median(self, key: str) -> float | None:
        numbers = [float(e[key]) for e in self.extras if isinstance(e.get(key), int | float)]
        return statistics.median(numbers) if numbers else None

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": min(self.values),
            "max": max(self.values),
            "runs": self.values,
            "extra": self.extras,
        }


@dataclass
class MetricResult:
    metric: Metric
    servers: dict[ServerName, ServerResult] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(self.servers.get(name) and self.servers[name].values for name in SERVERS)

    @property
    def ratio(self) -> float | None:
        if not self.complete or self.servers["registry2"].median == 0:
            return None
        return self.servers["modelyard"].median / self.servers["registry2"].median

    def verdict(self) -> str:
        ratio = self.ratio
        if ratio is None or ratio == 0:
            return ""
        factor = ratio if self.metric.better == "higher" else 1 / ratio
        if 0.95 <= factor <= 1.05:
            return "about even"
        winner = "modelyard" if factor > 1 else "registry2"
        return f"{winner} {max(factor, 1 / factor):.2f}x better"

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.metric.unit,
            "better": self.metric.better,
            "title": self.metric.title,
            "ratio": self.ratio,
            "verdict": self.verdict(),
            "servers": {name: result.to_json() for name, result in self.servers.items()},
        }


@dataclass
class Results:
    meta: dict[str, Any]
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    capacity: list[Capacity] = field(default_factory=list)

    def add(self, metric: Metric, server: ServerName, sample: Sample) -> None:
        entry = self.metrics.setdefault(metric.name, MetricResult(metric))
        result = entry.servers.setdefault(server, ServerResult())
        result.values.append(sample.value)
        result.extras.append(sample.extra)

    def to_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "ratio": "modelyard / registry2 of the medians; see 'better' for the direction",
            "scenarios": {name: entry.to_json() for name, entry in self.metrics.items()},
            "capacity": {
                c.name: {
                    "unit": c.unit,
                    "title": c.title,
                    "median": c.median,
                    "runs": c.values,
                    "extra": c.extra,
                }
                for c in self.capacity
            },
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    def heading(self) -> str:
        """What was compared: storage kind and blob sizes (they differ on S3 and in smoke)."""
        settings = self.meta.get("settings", {})
        storage = self.meta.get("storage", {}).get("kind", "filesystem")
        first = f"storage: {storage}"
        if storage == "s3":
            moto = self.meta.get("versions", {}).get("moto", "?")
            first += (
                f" (moto {moto} on loopback, one bucket per server; registry:2 redirect "
                "disabled, so both servers stream blob bytes themselves)"
            )
        sizes = [settings.get(key) for key in ("size", "chunked_size", "rss_size")]
        if not all(isinstance(value, int) for value in sizes):
            return first
        size, chunked, rss = (int(value) for value in sizes)
        second = (
            f"blob sizes: push-monolithic and blob-get {format_size(size)}, push-chunked "
            f"{format_size(chunked)} in {format_size(int(settings.get('chunk', 0)))} PATCHes, "
            f"rss {format_size(rss)}"
        )
        lines = [first, second]
        pull_size = settings.get("pull_size")
        if isinstance(pull_size, int):
            lines.append(
                f"pull-through: {format_size(pull_size)} blob, {settings.get('pull_clients')} "
                f"clients over {settings.get('pull_instances')} instances of each server; "
                "modelyard instances share one storage and PostgreSQL, registry:2 instances "
                "(proxy.remoteurl) each have their own storage"
            )
        if settings.get("smoke"):
            lines.append("smoke mode: tiny sizes, one run; the numbers mean nothing")
        elif storage == "s3" and (rss < 4 * size or chunked < size):
            lines.append(
                "smaller than on the filesystem (rss 4x, chunked 1x the push size) because "
                "every byte goes through moto, one Python process"
            )
        return "\n".join(lines)

    def table(self) -> str:
        rows = [["scenario", "unit", "better", "modelyard", "registry2", "ratio", "verdict"]]
        for entry in self.metrics.values():
            cells = [entry.metric.name, entry.metric.unit, entry.metric.better]
            for name in SERVERS:
                result = entry.servers.get(name)
                cells.append(_spread(result) if result and result.values else "-")
            ratio = entry.ratio
            cells += [f"{ratio:.2f}" if ratio is not None else "-", entry.verdict()]
            rows.append(cells)
        lines = [self.heading(), "", _render(rows), ""]
        lines.append("median [min-max] of the runs; ratio = modelyard / registry2.")
        lines += self._keepalive_notes()
        lines += ["", self._cpu_table()]
        if self.capacity:
            lines += ["", self._capacity_table()]
        return "\n".join(lines)

    def _keepalive_notes(self) -> list[str]:
        """ab (HTTP/1.0) reuses a connection only if the server says keep-alive: flag it."""
        notes: list[str] = []
        for entry in self.metrics.values():
            for name, result in entry.servers.items():
                for extra in result.extras:
                    reused, total = extra.get("keepalive_requests"), extra.get("requests")
                    if isinstance(reused, int) and isinstance(total, int) and reused < total:
                        notes.append(
                            f"note: {entry.metric.name}: {name} kept the connection for only "
                            f"{reused} of {total} requests (ab speaks HTTP/1.0; install hey)"
                        )
                        break
        return notes

    def _cpu_table(self) -> str:
        with_s3 = any(
            e.get("s3_cores") is not None
            for entry in self.metrics.values()
            for result in entry.servers.values()
            for e in result.extras
        )
        header = ["scenario", "modelyard cores", "registry2 cores", "client/tool cores"]
        if with_s3:
            header += ["moto cores (m / r2)"]
        rows = [header]
        for entry in self.metrics.values():
            cells = [entry.metric.name]
            for name in SERVERS:
                result = entry.servers.get(name)
                cores = result.extra_median("server_cores") if result else None
                cells.append(f"{cores:.2f}" if cores is not None else "-")
            client = [
                value
                for result in entry.servers.values()
                for key in ("client_cores", "tool_cores")
                if (value := result.extra_median(key)) is not None
            ]
            cells.append(f"{max(client):.2f}" if client else "-")
            if with_s3:
                moto = [
                    entry.servers[n].extra_median("s3_cores") if n in entry.servers else None
                    for n in SERVERS
                ]
                cells.append(" / ".join(f"{m:.2f}" if m is not None else "-" for m in moto))
            rows.append(cells)
        cpus = self.meta.get("machine", {}).get("cpus")
        note = (
            "CPU cores kept busy on average while measuring "
            f"(median of runs; {cpus or '?'}-core machine)."
        )
        return _render(rows) + "\n" + note

    def _capacity_table(self) -> str:
        rows = [["harness ceiling", "unit", "median", "what"]]
        for c in self.capacity:
            rows.append([c.name, c.unit, _number(c.median), c.title])
        return _render(rows)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _spread(result: ServerResult) -> str:
    low, high = min(result.values), max(result.values)
    if len(result.values) == 1:
        return _number(result.median)
    return f"{_number(result.median)} [{_number(low)}-{_number(high)}]"


def _render(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in out)
