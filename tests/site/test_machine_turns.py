"""A cell that times something has the machine to itself (`MachineTurns`)."""

import asyncio
import json
import textwrap

import pytest
from made_records import RECORD

from mnist_book import run_log
from mnist_book.run_log import Event
from mnist_book.site.execution import MachineTurns, Watchdog, execute_pages
from mnist_book.site.page_cache import PageCache


def test_an_exclusive_turn_waits_for_running_cells_and_holds_back_new_ones():
    events: list[str] = []

    async def cell(turns, name, exclusive, seconds, delay=0.0):
        await asyncio.sleep(delay)
        await turns.take(exclusive)
        events.append(f"{name} starts")
        await asyncio.sleep(seconds)
        events.append(f"{name} ends")
        await turns.give_back(exclusive)

    async def scenario():
        turns = MachineTurns()
        await asyncio.gather(
            cell(turns, "a", False, 0.3),
            cell(turns, "b", False, 0.2),
            cell(turns, "timing", True, 0.2, delay=0.05),
            cell(turns, "c", False, 0.1, delay=0.1),  # asks while the timing cell waits
        )

    asyncio.run(scenario())
    assert events[:2] == ["a starts", "b starts"]  # two ordinary cells side by side
    timing = events.index("timing starts")
    assert {"a ends", "b ends"} <= set(events[:timing])
    assert events[timing + 1] == "timing ends"  # nothing ran beside it
    assert events[timing + 2 :] == ["c starts", "c ends"]


def test_an_exclusive_cell_waits_for_the_pages_before_its_own_and_holds_back_later_ones():
    """Under serve, a page early in the navigation (which trains nothing, say) must not
    wait, cell by cell, behind a later page's long timings: it lands first. A page after
    the timing one waits for the timing cell, as before."""
    events: list[str] = []

    async def page(turns, name, rank, cells, delay=0.0):
        await asyncio.sleep(delay)
        async with turns.page(rank):
            for number, exclusive in enumerate(cells, start=1):
                await turns.take(exclusive, rank)
                events.append(f"{name}{number} starts")
                await asyncio.sleep(0.05)
                events.append(f"{name}{number} ends")
                await turns.give_back(exclusive)
                await asyncio.sleep(0.01)  # between cells, as nbclient hands the next one

    async def scenario():
        turns = MachineTurns()
        await asyncio.gather(
            page(turns, "early", 0, [False] * 4),
            page(turns, "timing", 1, [True, True], delay=0.02),
            page(turns, "late", 2, [False], delay=0.04),
        )

    asyncio.run(scenario())
    assert events.index("early4 ends") < events.index("timing1 starts")
    for number in (1, 2):  # each timing cell ran alone
        starts = events.index(f"timing{number} starts")
        assert events[starts + 1] == f"timing{number} ends"
    assert events.index("timing1 ends") < events.index("late1 starts")


def test_pages_of_one_rank_take_turns_as_they_ask():
    """A build ranks every page alike: a timing cell waits only for the running cells, and
    holds back the other pages' next cells (it is not starved)."""
    events: list[str] = []

    async def page(turns, name, cells, delay=0.0):
        await asyncio.sleep(delay)
        async with turns.page():
            for number, exclusive in enumerate(cells, start=1):
                await turns.take(exclusive)
                events.append(f"{name}{number}")
                await asyncio.sleep(0.05)
                await turns.give_back(exclusive)
                await asyncio.sleep(0.01)

    async def scenario():
        turns = MachineTurns()
        await asyncio.gather(page(turns, "a", [False] * 4), page(turns, "t", [True], 0.02))

    asyncio.run(scenario())
    assert events == ["a1", "t1", "a2", "a3", "a4"]


@pytest.mark.slow
def test_an_exclusive_cell_runs_alone_in_a_build(tmp_path):
    stamps = tmp_path / "stamps.jsonl"

    def page(name, tags):
        return textwrap.dedent(
            f"""
            # %%
            import json, time

            def stamp(what):
                with open({str(stamps)!r}, "a") as stream:
                    stream.write(json.dumps([{name!r}, what, time.time()]) + "\\n")

            # %%{tags}
            stamp("start"); time.sleep(2); stamp("end")
            """
        )

    scripts = {}
    for name, tags in (("a.py", ""), ("b.py", ' tags=["exclusive"]'), ("c.py", "")):
        scripts[name] = tmp_path / name
        scripts[name].write_text(page(name, tags))
    cache = PageCache(tmp_path / "cache", "env")
    execute_pages(scripts, cache, cell_timeout=60, workers=3, say=lambda line: None)
    spans: dict[str, list[float]] = {}
    for line in stamps.read_text().splitlines():
        page_name, _, at = json.loads(line)
        spans.setdefault(page_name, []).append(at)
    start, end = spans.pop("b.py")
    for other_start, other_end in spans.values():
        assert other_end <= start or other_start >= end, "a cell ran beside the exclusive one"


def test_a_cell_waiting_for_its_turn_is_not_hung_whatever_events_arrive_late():
    """A build failed so: the previous cell's result event, read after the next cell had
    started waiting for an exclusive cell to finish, restarted the watchdog's clock."""
    watchdog = Watchdog()
    watchdog.waiting_for_turn()
    watchdog._last -= 3600  # an hour in the queue
    watchdog.saw(Event(run_log.RESULT, "convnet", result=RECORD))  # read late
    watchdog._last -= 3600
    assert watchdog.quiet_seconds() == 0.0
    watchdog.cell_started(cell=None, cell_index=3)  # its turn: the clock runs again
    watchdog._last -= 5
    assert 5 <= watchdog.quiet_seconds() < 60


def test_a_page_waiting_for_another_pages_training_is_not_hung_until_its_next_event():
    watchdog = Watchdog()
    watchdog.saw(Event(run_log.WAITING, "convnet"))
    watchdog._last -= 3600
    assert watchdog.quiet_seconds() == 0.0
    watchdog.saw(Event(run_log.EPOCH, "convnet", epoch=1, epochs=2))
    watchdog._last -= 5
    assert 5 <= watchdog.quiet_seconds() < 60
