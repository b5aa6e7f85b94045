"""`python -m bench`: Modelyard against registry:2, same machine, storage and client, one run.

Prints a table of medians with min-max spread and the ratio modelyard / registry2, and
writes the same as JSON with --json. bench/README.md explains the scenarios and caveats.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import runner
from bench.loadgen import pick_tool
from bench.settings import Settings
from bench.units import format_size, parse_size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--size",
        type=parse_size,
        default=None,
        help="blob size of the push/GET scenarios (default 1GiB)",
    )
    parser.add_argument(
        "--rss-size",
        type=parse_size,
        default=None,
        help="blob size of the peak-RSS scenario (default 4x --size; with --s3, --size/2)",
    )
    parser.add_argument(
        "--chunked-size",
        type=parse_size,
        default=None,
        help="blob size of the chunked push (default --size; with --s3, at most 256MiB)",
    )
    parser.add_argument(
        "--pull-size",
        type=parse_size,
        default=None,
        help="blob size of the pull-through scenario (default 256MiB)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=4,
        help="instances of each server in the pull-through scenario (4)",
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients of the pull-through scenario (8)"
    )
    parser.add_argument(
        "--s3",
        action="store_true",
        help="both servers on the S3 driver: one moto server on loopback, a fresh bucket each",
    )
    parser.add_argument(
        "--http-server",
        choices=["granian", "uvicorn"],
        help="Modelyard's ASGI server (default: Modelyard's own default, granian)",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions per scenario (3)")
    parser.add_argument(
        "--smoke", action="store_true", help="every scenario once on tiny sizes (CI)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--only",
        action="append",
        metavar="SCENARIO",
        help="run only this scenario (repeatable, or comma-separated); 'capacity' runs the "
        "harness ceiling check",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per req/s measurement (10)"
    )
    parser.add_argument(
        "--load-tool", choices=["auto", "hey", "ab"], default="auto", help="req/s tool (auto)"
    )
    parser.add_argument("--workdir", type=Path, help="folder for temp files (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    return parser


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    if args.instances < 1 or args.clients < 1:
        raise SystemExit("--instances and --clients must be at least 1")
    only = [name for item in args.only or [] for name in item.split(",") if name] or None
    workdir = Path(tempfile.mkdtemp(prefix="modelyard-bench-", dir=args.workdir))
    settings = Settings.make(
        workdir,
        pick_tool(args.load_tool),
        args.size,
        args.runs,
        args.smoke,
        args.duration,
        storage="s3" if args.s3 else "filesystem",
        rss_size=args.rss_size,
        chunked_size=args.chunked_size,
        http_server=args.http_server,
        pull_size=args.pull_size,
        instances=args.instances,
        clients=args.clients,
    )
    _log(
        f"bench: storage {settings.storage}, size {format_size(settings.size)}, "
        f"chunked {format_size(settings.chunked_size)}, rss {format_size(settings.rss_size)}, "
        f"pull {format_size(settings.pull_size)} x {settings.clients} clients over "
        f"{settings.instances} instances, runs {settings.runs}, "
        f"tool {settings.load_tool}, smoke {settings.smoke}, in {workdir}"
    )
    started = time.perf_counter()
    try:
        results = runner.run(settings, only, _log)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results.meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    results.meta["machine"]["load_average_end"] = list(os.getloadavg())
    print(results.table())
    if args.json:
        results.write_json(args.json)
        _log(f"bench: wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
