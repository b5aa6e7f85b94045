"""Session-wide test settings: async tests run on asyncio through the anyio plugin."""

from collections.abc import Iterator

import pytest

from tests.support.postgres import postgres_url
from tests.support.s3server import S3Server, running_s3

pytest_plugins = ["tests.support.auth"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto in server mode on a free loopback port, shared by the session; use new_bucket()."""
    with running_s3() as server:
        yield server


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for the session; tests take a fresh schema of it."""
    with postgres_url(tmp_path_factory.mktemp("postgres")) as url:
        yield url
