"""`modelyard reindex` on the command line: progress, summary, repository filter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from registry.config import Config
from tests.registry.index.reindex_helpers import (
    ROOT,
    database,
    push_everything,
    snapshot,
    wipe,
)

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------- the command


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "REGISTRY_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "registry", "reindex", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def test_command_line_end_to_end(
    indexed_client: httpx.AsyncClient,
    indexed_app: Starlette,
    index_config: Config,
    tmp_path: Path,
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    live = await snapshot(db)
    await wipe(db)
    config_file = tmp_path / "modelyard.yml"
    config_file.write_text(
        json.dumps(
            {
                "storage": {"filesystem": {"rootdirectory": str(tmp_path / "root")}},
                "database": {
                    "url": index_config.database.url,
                    "schema": index_config.database.schema,
                },
                "log": {"level": "warning"},
            }
        )
    )
    result = await anyio.to_thread.run_sync(
        lambda: run_cli("--config", str(config_file), cwd=tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert await snapshot(db) == live
    summary = re.fullmatch(
        r"reindexed (\d+) repositories, (\d+) manifests, (\d+) tags, (\d+) errors in [\d.]+ s\n",
        result.stdout,
    )
    assert summary is not None, result.stdout
    assert summary.groups() == ("5", str(len(pushed)), "9", "0")
    progress = result.stderr.splitlines()
    assert len(progress) == 5, result.stderr
    assert progress[0].startswith("[====")
    assert "1/5 library/alpine: 4 manifests, 3 tags, 0 errors" in progress[0]
    assert progress[-1] == "[====================] 5/5 team/cnn: 3 manifests, 3 tags, 0 errors"

    await wipe(db)
    only = await anyio.to_thread.run_sync(
        lambda: run_cli(
            "--config",
            str(config_file),
            "--repository",
            "team/cnn",
            "-r",
            "llm/llama",
            cwd=tmp_path,
        )
    )
    assert only.returncode == 0, only.stderr
    assert only.stdout.startswith("reindexed 2 repositories, 4 manifests, 4 tags, 0 errors")
    assert {r["name"] for r in (await snapshot(db))["repositories"]} == {"llm/llama", "team/cnn"}

    bad = await anyio.to_thread.run_sync(
        lambda: run_cli("--config", str(config_file), "--repository", "Bad Name", cwd=tmp_path)
    )
    assert bad.returncode == 2
    assert "invalid repository name" in bad.stderr
