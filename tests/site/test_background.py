"""``mkdocs serve`` executing pages in the background: progress, landing, restarts, failures."""

import json
import textwrap
import time
from pathlib import Path

import pytest
from made_records import RECORD

from mnist_book import run_log
from mnist_book.run_log import Event
from mnist_book.site.background import (
    FAILED,
    QUEUED,
    RUNNING,
    BackgroundExecution,
    PageProgress,
    about,
)
from mnist_book.site.page_cache import PageCache, read_script


def test_progress_follows_a_training_epoch_by_epoch():
    progress = PageProgress(RUNNING)
    assert progress.summary == "Executing its code cells."
    progress = progress.after(Event(run_log.TRAINING, "convnet", epochs=15), 0.0)
    assert progress.summary == "Training convnet: its first epoch is running."
    progress = progress.after(Event(run_log.EPOCH, "convnet", epoch=3, epochs=15), 30.0)
    assert progress.seconds_left == pytest.approx(120.0)
    assert progress.summary == "Training convnet: epoch 3 of 15 done, about 2 minutes left."
    progress = progress.after(Event(run_log.RESULT, "convnet", result=RECORD), 150.0)
    assert progress.summary == "Executing its code cells."
    progress = progress.after(Event(run_log.WAITING, "deeper_convnet"), 0.0)
    assert progress.summary == "Waiting for another training to finish; then deeper_convnet."
    assert "model cache" in progress.after(Event(run_log.LOADED, "flatten"), 0.0).summary
    assert "order of the navigation" in PageProgress(QUEUED).summary
    assert PageProgress(FAILED, error="cell 2 raised").summary.endswith("cell 2 raised")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(3, "about 5 s"), (42, "about 40 s"), (61, "about 1 minute"), (150, "about 2 minutes")],
)
def test_about_rounds_as_a_person_would(seconds, words):
    assert about(seconds) == words


def _write(directory: Path, pages: dict[str, str]) -> dict[str, Path]:
    scripts = {}
    for name, source in pages.items():
        scripts[name] = directory / name
        scripts[name].write_text(textwrap.dedent(source))
    return scripts


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def background(tmp_path):
    said: list[str] = []
    execution = BackgroundExecution(
        cell_timeout=60, workers=2, landed_marker=tmp_path / "cache" / ".landed", say=said.append
    )
    execution.said = said
    yield execution
    execution.close()


@pytest.mark.slow
def test_pages_land_in_the_cache_and_a_changed_page_restarts_alone(tmp_path, background):
    """Page b counts its executions in a file: a's restart must not run it again."""
    counter = tmp_path / "b-ran"
    scripts = _write(
        tmp_path,
        {
            "a.py": "# %%\nimport time\ntime.sleep(30)\nprint('old a')\n",
            "b.py": f"# %%\nimport time\nopen({str(counter)!r}, 'a').write('ran\\n')\n"
            "time.sleep(6)\nprint('b')\n",
        },
    )
    cache = PageCache(tmp_path / "cache", "env")
    marker = background.landed_marker
    before = marker.stat().st_mtime_ns

    assert background.request(scripts, cache) == {}
    _until(lambda: background.progress("a.py").state == RUNNING)
    scripts["a.py"].write_text("# %%\nprint('new a')\n")
    assert background.request(scripts, cache) == {}  # a restarts with its new code; b goes on
    _until(lambda: cache.load("a.py", read_script(scripts["a.py"])) is not None)
    _until(lambda: cache.load("b.py", read_script(scripts["b.py"])) is not None)

    landed = background.request(scripts, cache)
    assert set(landed) == {"a.py", "b.py"}
    assert "new a" in landed["a.py"].notebook.read_text()
    assert counter.read_text() == "ran\n"  # b executed once
    assert marker.stat().st_mtime_ns > before  # which rebuilds a served site
    assert background.progress("a.py") is None and background.progress("b.py") is None
    assert "Stopping the execution of a.py: its code changed" in background.said


@pytest.mark.slow
def test_a_failing_page_says_where_and_is_not_rerun_until_edited(tmp_path, background):
    scripts = _write(tmp_path, {"a.py": "# %%\nx = 1\n# %%\nraise ValueError('broken')\n"})
    cache = PageCache(tmp_path / "cache", "env")
    background.request(scripts, cache)
    _until(lambda: background.progress("a.py").state == FAILED)
    summary = background.progress("a.py").summary
    assert "a.py: code cell 2 (`raise ValueError('broken')`) raised an error" in summary

    background.request(scripts, cache)  # another rebuild: the same code is not run again
    assert background.progress("a.py").state == FAILED

    scripts["a.py"].write_text("# %%\nx = 1\n")
    background.request(scripts, cache)
    _until(lambda: cache.load("a.py", read_script(scripts["a.py"])) is not None)


@pytest.mark.slow
def test_pages_before_a_timing_page_land_before_its_exclusive_cells(tmp_path, background):
    """The timing page b is requested with a, which comes first in the navigation: a's
    cells all run before b's exclusive cell starts, not one between each of b's timings."""
    stamps = tmp_path / "stamps"
    stamp = f"open({str(stamps)!r}, 'a').write"
    scripts = _write(
        tmp_path,
        {
            "a.py": "".join(
                f"# %%\nimport time\ntime.sleep(1)\n{stamp}('a{cell}\\n')\n" for cell in range(4)
            ),
            "b.py": '# %% tags=["exclusive"]\n' + f"{stamp}('b\\n')\n",
        },
    )
    cache = PageCache(tmp_path / "cache", "env")
    background.request(scripts, cache)
    _until(lambda: cache.load("b.py", read_script(scripts["b.py"])) is not None)
    assert stamps.read_text().split() == ["a0", "a1", "a2", "a3", "b"]


@pytest.mark.slow
def test_a_queued_page_says_how_many_pages_before_it_are_still_executing(tmp_path, background):
    sleeping = "# %%\nimport time\ntime.sleep(60)\n"
    scripts = _write(tmp_path, {name: sleeping for name in ("a.py", "b.py", "c.py", "d.py")})
    background.request(scripts, PageCache(tmp_path / "cache", "env"))
    _until(lambda: background.progress("b.py").state == RUNNING)  # two workers: a and b
    assert background.progress("c.py").pages_before == 2
    assert background.progress("d.py").summary.endswith("and 3 pages before it still executing.")
    published = json.loads(background.progress_json())["pages"]
    assert published["d.py"]["pages_before"] == 3
