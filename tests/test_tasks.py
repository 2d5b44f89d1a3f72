"""The task group: newest-wins slots, cancel, close, and one way of reporting failures."""

from __future__ import annotations

import asyncio
import logging

import pytest

from terminal.errors import ExchangeError
from terminal.tasks import TaskGroup

log = logging.getLogger("tests.tasks")


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def forever(started: asyncio.Event | None = None) -> None:
    if started is not None:
        started.set()
    await asyncio.Event().wait()


def test_a_failure_is_logged_with_its_traceback_and_handed_to_on_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[tuple[str, str]] = []

    async def broken() -> None:
        raise ExchangeError("The exchange cannot be reached.", detail="HTTP 502")

    async def scenario() -> None:
        group = TaskGroup("panel", on_error=lambda exc, name: told.append((str(exc), name)), logger=log)
        task = group.spawn(broken(), name="panel: load markets")
        await asyncio.wait([task])
        await group.close()

    with caplog.at_level(logging.ERROR, logger="tests.tasks"):
        run(scenario())
    assert told == [("The exchange cannot be reached.", "panel: load markets")]
    [record] = caplog.records
    assert record.name == "tests.tasks" and record.levelno == logging.ERROR
    assert "panel: load markets failed: The exchange cannot be reached." in record.getMessage()
    assert "HTTP 502" in record.getMessage()  # the detail, for the log only
    assert record.exc_info is not None and record.exc_info[0] is ExchangeError


def test_cancelled_and_finished_tasks_are_not_failures(caplog: pytest.LogCaptureFixture) -> None:
    told: list[str] = []

    async def scenario() -> None:
        group = TaskGroup("g", on_error=lambda exc, name: told.append(name), logger=log)
        started = asyncio.Event()
        done = group.spawn(asyncio.sleep(0, result=7), name="quick")
        group.spawn(forever(started), name="slow")
        await started.wait()
        assert await done == 7
        assert group.busy
        await group.close()
        assert not group.busy and len(group) == 0

    with caplog.at_level(logging.DEBUG, logger="tests.tasks"):
        run(scenario())
    assert told == [] and caplog.records == []


def test_a_new_task_in_a_slot_cancels_the_previous_one() -> None:
    async def scenario() -> None:
        group = TaskGroup("picker")
        started = asyncio.Event()
        first = group.spawn(forever(started), key="markets")
        await started.wait()
        second = group.spawn(asyncio.sleep(0, result="newest"), key="markets")
        assert group.running("markets") is second
        assert await second == "newest"
        await asyncio.wait([first])
        assert first.cancelled()
        other = group.spawn(forever(), key="other")  # another slot is left alone
        await asyncio.sleep(0)
        assert not other.done()
        await group.close()

    run(scenario())


def test_cancel_stops_one_slot_or_every_task() -> None:
    async def scenario() -> None:
        group = TaskGroup("session")
        a = group.spawn(forever(), key="book")
        b = group.spawn(forever(), key="trades")
        c = group.spawn(forever())
        await asyncio.sleep(0)
        assert group.cancel("book") == [a]
        assert group.running("book") is None  # the slot is free at once
        assert group.cancel("nothing here") == []
        await asyncio.wait([a])
        assert a.cancelled() and not b.done() and not c.done()
        assert set(group.cancel()) == {b, c}
        await asyncio.wait([b, c])
        await asyncio.sleep(0)
        assert not group.busy

    run(scenario())


def test_the_group_stays_busy_until_on_done_and_on_error_have_run() -> None:
    seen: list[tuple[str, bool, object]] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        group: TaskGroup

        def on_done(task: asyncio.Task[object]) -> None:
            seen.append(("done", group.busy, group.running("k")))

        def on_error(exc: BaseException, name: str) -> None:
            seen.append(("error", group.busy, group.running("k")))

        group = TaskGroup("g", on_error=on_error)
        task = group.spawn(broken(), key="k", on_done=on_done)
        await asyncio.wait([task])
        await group.close()
        assert seen == [("done", True, task), ("error", True, task)]
        assert group.running("k") is None and not group.busy

    run(scenario())


def test_close_without_cancel_lets_work_finish_and_cancels_what_outlives_the_timeout() -> None:
    async def scenario() -> None:
        group = TaskGroup("orders")
        release = asyncio.Event()

        async def answered() -> str:
            await release.wait()
            return "filled"

        quick = group.spawn(answered(), name="send order")
        stuck = group.spawn(forever(), name="cancel order")
        asyncio.get_running_loop().call_later(0.01, release.set)
        given_up = await group.close(cancel=False, timeout=0.2)
        assert given_up == [stuck] and stuck.cancelled()
        assert quick.result() == "filled"
        assert not group.busy

    run(scenario())


def test_close_also_stops_a_task_spawned_while_closing() -> None:
    async def scenario() -> None:
        group = TaskGroup("session")
        late: list[asyncio.Task[None]] = []

        async def spawns_on_the_way_out() -> None:
            try:
                await forever()
            finally:
                late.append(group.spawn(forever(), name="late"))

        group.spawn(spawns_on_the_way_out())
        await asyncio.sleep(0)
        await group.close()
        assert late and late[0].cancelled()
        assert not group.busy

    run(scenario())


def test_a_broken_callback_is_logged_and_does_not_keep_the_task(caplog: pytest.LogCaptureFixture) -> None:
    def on_done(task: asyncio.Task[object]) -> None:
        raise ValueError("bug in the owner")

    async def scenario() -> None:
        group = TaskGroup("g", logger=log)
        await group.spawn(asyncio.sleep(0), on_done=on_done)
        await group.close()
        assert not group.busy

    with caplog.at_level(logging.ERROR, logger="tests.tasks"):
        run(scenario())
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ValueError]
