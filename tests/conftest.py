"""Session-wide test settings: async tests run on asyncio through the anyio plugin."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
