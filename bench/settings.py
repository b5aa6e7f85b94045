"""What one benchmark run is asked to do: sizes, repetitions, load, and where to put files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import Tool
from bench.units import GIB, KIB, MIB


@dataclass(frozen=True)
class Settings:
    workdir: Path
    load_tool: Tool
    size: int = GIB  # blob size of the push and GET scenarios
    runs: int = 3
    smoke: bool = False
    chunk: int = 16 * MIB  # PATCH size of the chunked push
    rss_size: int = 4 * GIB  # blob size of the peak-RSS scenario
    duration: float | None = 10.0  # seconds per req/s measurement (None: count requests)
    requests: int = 2000  # requests per req/s measurement when duration is None
    warmup: float = 1.0  # seconds of load before the req/s runs, not counted
    concurrency: int = 64
    layer_sizes: tuple[int, ...] = (3 * MIB, 5 * MIB, 8 * MIB)

    @classmethod
    def make(
        cls,
        workdir: Path,
        load_tool: Tool,
        size: int,
        runs: int,
        smoke: bool,
        duration: float,
    ) -> Settings:
        if smoke:
            return cls(
                workdir=workdir,
                load_tool=load_tool,
                size=1 * MIB,
                runs=1,
                smoke=True,
                chunk=256 * KIB,
                rss_size=4 * MIB,
                duration=None,
                requests=256,
                warmup=0.0,
                concurrency=64,
                layer_sizes=(64 * KIB, 96 * KIB, 128 * KIB),
            )
        return cls(
            workdir=workdir,
            load_tool=load_tool,
            size=size,
            runs=runs,
            chunk=min(16 * MIB, size),
            rss_size=4 * size,
            duration=duration,
        )
