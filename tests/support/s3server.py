"""A real S3-compatible server for tests: moto in server mode, in its own process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from registry.config import S3Config

ACCESS_KEY = "modelyard-test"
SECRET_KEY = "modelyard-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"bucket-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name

    def storage(self, bucket: str | None = None) -> dict[str, Any]:
        """A registry:2 `storage:` section for `bucket` (default: a new one), which Modelyard
        reads too; servers given the same section share the bucket."""
        return {
            "s3": {
                "bucket": bucket or self.new_bucket(),
                "region": REGION,
                "regionendpoint": self.endpoint,
                "accesskey": ACCESS_KEY,
                "secretkey": SECRET_KEY,
                "rootdirectory": "/cluster",
                "secure": False,
                "v4auth": True,
            },
            "delete": {"enabled": True},
        }


def _moto_command(port: int) -> list[str]:
    script = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.fail("moto_server is not installed: pip install -e '.[test]'")
    return [script, "-H", "127.0.0.1", "-p", str(port)]


@contextmanager
def running_s3() -> Iterator[S3Server]:
    port = free_port()
    process = subprocess.Popen(
        _moto_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(endpoint + "/", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start on {endpoint}")
                time.sleep(0.1)
        yield S3Server(endpoint, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_config(server: S3Server, bucket: str, **overrides: Any) -> S3Config:
    """Driver configuration for a bucket of the test server."""
    settings: dict[str, Any] = {
        "bucket": bucket,
        "region": REGION,
        "regionendpoint": server.endpoint,
        "accesskey": ACCESS_KEY,
        "secretkey": SECRET_KEY,
        "rootdirectory": "/registry-root",
        "chunksize": 5 << 20,
    }
    settings.update(overrides)
    return S3Config(**settings)
