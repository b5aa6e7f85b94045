"""The `modelyard` command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from registry import cli
from tests.support.s3server import free_port

EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"modelyard {version('modelyard')}"


def test_version_from_the_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registry", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.stdout.strip() == f"modelyard {version('modelyard')}"


def test_console_script_version() -> None:
    script = Path(sys.executable).parent / "modelyard"
    if not script.exists():
        pytest.fail("the modelyard console script is not installed next to this interpreter")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == f"modelyard {version('modelyard')}"


def test_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2
    assert "required" in capsys.readouterr().err


def test_parse_serve_options() -> None:
    args = cli.build_parser().parse_args(
        ["serve", "--config", "/etc/modelyard.yml", "--host", "127.0.0.1", "--port", "5001"]
    )
    assert args.command == "serve"
    assert args.config == "/etc/modelyard.yml"
    assert args.host == "127.0.0.1"
    assert args.port == 5001
    assert args.run is cli._serve


def test_parse_serve_short_and_default_options() -> None:
    args = cli.build_parser().parse_args(["serve", "-c", "c.yml"])
    assert (args.config, args.host, args.port) == ("c.yml", None, None)


def test_bad_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["serve", "--port", "http"])
    assert exited.value.code == 2
    assert "--port" in capsys.readouterr().err


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "REGISTRY_"))}


@contextmanager
def _serving(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not answer at {url}")
            time.sleep(0.1)


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_serve_uses_config_file(server: str, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        f"http: {{addr: '127.0.0.1:{port}', server: {server}}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'root'}}}}}\n"
    )
    with _serving(["serve", "--config", str(config)], _clean_env()) as process:
        answer = _wait_for(f"http://127.0.0.1:{port}/v2/", process)
        assert answer.status_code == 200
        assert answer.headers["docker-distribution-api-version"] == "registry/2.0"
        pushed = httpx.post(
            f"http://127.0.0.1:{port}/v2/team/app/blobs/uploads/?digest={EMPTY_DIGEST}",
            content=b"",
        )
        assert pushed.status_code == 201
    assert (tmp_path / "root/docker/registry/v2/repositories/team/app/_layers").is_dir()


def test_serve_options_win_over_config(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text("http: {port: 1}\nstorage: {driver: inmemory}\ndatabase: {enabled: false}\n")
    env = {**_clean_env(), "MODELYARD_CONFIG": str(config)}
    with _serving(["serve", "--host", "127.0.0.1", "--port", str(port)], env) as process:
        assert _wait_for(f"http://127.0.0.1:{port}/v2/", process).status_code == 200


def test_serve_with_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yml"
    config.write_text("http: {port: many}\n")
    assert cli.main(["serve", "-c", str(config)]) == 2
    assert "modelyard: http.port: invalid value 'many'" in capsys.readouterr().err
