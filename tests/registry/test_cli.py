"""The `modelyard` command line."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from registry import cli


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
        pytest.skip("the modelyard console script is not installed next to this interpreter")
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


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls of uvicorn.run, which is replaced so no server starts."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    for name in list(__import__("os").environ):
        if name.startswith(("MODELYARD_", "REGISTRY_")):
            monkeypatch.delenv(name)
    return calls


def test_serve_uses_config_file(served: list[dict[str, Any]], tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "http: {addr: '127.0.0.1:5123'}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path}}}}}\n"
    )
    assert cli.main(["serve", "--config", str(config)]) == 0
    [call] = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 5123)
    assert call["app"].state.config.storage.filesystem.rootdirectory == tmp_path


def test_serve_options_win_over_config(
    served: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("http: {port: 5123}\nstorage: {driver: inmemory}\n")
    monkeypatch.setenv("MODELYARD_CONFIG", str(config))
    assert cli.main(["serve", "--host", "127.0.0.2", "--port", "6000"]) == 0
    [call] = served
    assert (call["host"], call["port"]) == ("127.0.0.2", 6000)
    assert call["app"].state.config.storage.driver == "inmemory"


def test_serve_with_bad_config(
    served: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("http: {port: many}\n")
    assert cli.main(["serve", "-c", str(config)]) == 2
    assert served == []
    assert "modelyard: http.port: invalid value 'many'" in capsys.readouterr().err
