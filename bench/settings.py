"""What one benchmark run is asked to do: sizes, repetitions, load, and where to put files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.loadgen import Tool
from bench.units import GIB, KIB, MIB

Storage = Literal["filesystem", "s3"]


@dataclass(frozen=True)
class Settings:
    workdir: Path
    load_tool: Tool
    size: int = GIB  # blob size of the monolithic push and GET scenarios
    runs: int = 3
    smoke: bool = False
    chunked_size: int = GIB  # blob size of the chunked push
    chunk: int = 16 * MIB  # PATCH size of the chunked push
    rss_size: int = 4 * GIB  # blob size of the peak-RSS scenario
    duration: float | None = 10.0  # seconds per req/s measurement (None: count requests)
    requests: int = 2000  # requests per req/s measurement when duration is None
    warmup: float = 1.0  # seconds of load before the req/s runs, not counted
    concurrency: int = 64
    layer_sizes: tuple[int, ...] = (3 * MIB, 5 * MIB, 8 * MIB)
    storage: Storage = "filesystem"  # both servers' driver; "s3": one moto, a bucket each
    http_server: str | None = None  # Modelyard's http.server (None: its default, granian)
    pull_size: int = 256 * MIB  # blob size of the pull-through scenario
    instances: int = 4  # instances of each server in the pull-through scenario
    clients: int = 8  # concurrent clients of the pull-through scenario

    @classmethod
    def make(
        cls,
        workdir: Path,
        load_tool: Tool,
        size: int | None,
        runs: int,
        smoke: bool,
        duration: float,
        *,
        storage: Storage = "filesystem",
        rss_size: int | None = None,
        chunked_size: int | None = None,
        http_server: str | None = None,
        pull_size: int | None = None,
        instances: int = 4,
        clients: int = 8,
    ) -> Settings:
        """Defaults (None): `size` 1 GiB; `chunked_size` = `size`; `rss_size` 4x `size`.

        On S3 every byte goes through moto, one Python process that keeps objects in memory
        and copies them whole, so the `rss_size` default there is half of `size`.
        """
        if smoke:
            return cls(
                workdir=workdir,
                load_tool=load_tool,
                storage=storage,
                http_server=http_server,
                size=1 * MIB,
                runs=1,
                smoke=True,
                chunked_size=1 * MIB,
                chunk=256 * KIB,
                rss_size=4 * MIB,
                duration=None,
                requests=256,
                warmup=0.0,
                concurrency=64,
                layer_sizes=(64 * KIB, 96 * KIB, 128 * KIB),
                pull_size=1 * MIB,
                instances=2,
                clients=4,
            )
        size = size or GIB
        if rss_size is None:
            rss_size = size // 2 if storage == "s3" else 4 * size
        if chunked_size is None:
            chunked_size = size
        return cls(
            workdir=workdir,
            load_tool=load_tool,
            size=size,
            runs=runs,
            chunked_size=chunked_size,
            chunk=min(16 * MIB, chunked_size),
            rss_size=rss_size,
            duration=duration,
            storage=storage,
            http_server=http_server,
            pull_size=pull_size or 256 * MIB,
            instances=instances,
            clients=clients,
        )
