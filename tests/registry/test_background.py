"""The application's background tasks: started once, stopped with their task ended."""

from __future__ import annotations

import asyncio

import pytest

from registry.background import Background, cancel_all

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


async def test_cancel_all_ends_every_task_whatever_it_raises() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def failing() -> None:
        raise RuntimeError("boom")

    tasks = [asyncio.create_task(forever()), asyncio.create_task(failing())]
    await asyncio.sleep(0)
    await cancel_all(tasks)
    assert all(task.done() for task in tasks)
    assert tasks[0].cancelled()
