"""The application's background tasks: started once, stopped with their task ended."""

from __future__ import annotations

import asyncio

import pytest

from registry.background import Background

pytestmark = pytest.mark.anyio


async def test_runs_once_and_stops() -> None:
    runs: list[int] = []
    ended = asyncio.Event()

    async def run() -> None:
        runs.append(1)
        try:
            await asyncio.Event().wait()
        finally:
            ended.set()

    background = Background(run)
    background.start()
    background.start()
    await asyncio.sleep(0)
    assert background.running
    assert await background.stop()
    assert ended.is_set()
    assert runs == [1]
    assert not background.running
    assert not await background.stop()
