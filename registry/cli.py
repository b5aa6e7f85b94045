"""The `modelyard` command."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from importlib.metadata import version

from registry import cli_models
from registry import config as config_module


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config or os.environ.get("MODELYARD_CONFIG") or None
    return path


def _load(path: str | None) -> config_module.Config | None:
    """The configuration, or None after saying on stderr why it cannot be used."""
    try:
        return config_module.load(path)
    except config_module.ConfigError as exc:
        print(f"modelyard: {exc}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    from registry.serve import serve

    config_path = _config_path(args)
    config = _load(config_path)
    if config is None:
        return 2
    host, port = config.listen()
    host, port = args.host or host, args.port or port
    if args.host or args.port:
        # the application reads its listen address (e.g. for proxy.advertise) from the config
        os.environ["MODELYARD_HTTP_ADDR"] = f"{host}:{port}"
        config = dataclasses.replace(
            config, http=dataclasses.replace(config.http, addr=f"{host}:{port}")
        )
    logging.basicConfig(
        level=config.log.level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    serve(config, config_path, host, port)
    return 0


def _reindex(args: argparse.Namespace) -> int:
    import anyio

    from registry.index.reindex import TextProgress, reindex
    from registry.reference import is_valid_name

    config_path = _config_path(args)
    config = _load(config_path)
    if config is None:
        return 2
    if not config.database.enabled:
        print("modelyard: database.enabled is false: there is no index to rebuild", file=sys.stderr)
        return 2
    invalid = [name for name in args.repository or [] if not is_valid_name(name)]
    if invalid:
        print(f"modelyard: invalid repository name: {', '.join(invalid)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        summary = anyio.run(reindex, config, args.repository, TextProgress(sys.stderr))
    except Exception as exc:
        print(f"modelyard reindex: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(summary.line())
    return 1 if summary.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelyard", description=__doc__)
    parser.add_argument("--version", action="version", version=f"modelyard {version('modelyard')}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the registry server")
    serve.add_argument("--config", "-c", help="YAML configuration file (or MODELYARD_CONFIG)")
    serve.add_argument("--host", help="address to bind (default from config, 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to bind (default from config, 5000)")
    serve.set_defaults(run=_serve)
    reindex = commands.add_parser("reindex", help="rebuild the model index from storage")
    reindex.add_argument("--config", "-c", help="YAML configuration file (or MODELYARD_CONFIG)")
    reindex.add_argument(
        "--repository",
        "-r",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="only these repositories (repeatable; default: every repository)",
    )
    reindex.set_defaults(run=_reindex)
    cli_models.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
