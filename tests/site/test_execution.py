"""Executing pages: results and progress from the kernel, failures naming page and cell."""

import json
import textwrap
import time

import pytest
from http_mirror import closed_port_url
from made_records import RECORD

from mnist_book import model_cache, run_log
from mnist_book.paths import PUBLISHED_CACHE_DIR_ENV, PUBLISHED_CACHE_ENV, RUN_LOG_ENV
from mnist_book.run_log import Event
from mnist_book.site.execution import PageExecutionError, execute_pages
from mnist_book.site.page_cache import PageCache

pytestmark = pytest.mark.slow


def run(tmp_path, pages, timeout=60, workers=2, planned=False):
    scripts = {}
    for name, source in pages.items():
        scripts[name] = tmp_path / name
        scripts[name].write_text(textwrap.dedent(source))
    said: list[str] = []
    cache = PageCache(tmp_path / "cache", "env")
    executed = execute_pages(
        scripts, cache, cell_timeout=timeout, workers=workers, say=said.append, planned=planned
    )
    return executed, said


def test_pages_run_in_parallel_report_progress_and_results(tmp_path, isolated_cache):
    # The kernel records what `RECORD` holds, as `training.train` would.
    trains = f"""\
    # %%
    from mnist_book import model_cache, run_log
    from mnist_book.results import TrainingRecord
    from mnist_book.run_log import Event
    run_log.record(Event(run_log.TRAINING, "m", epochs=1))
    run_log.record(Event(run_log.EPOCH, "m", epoch=1, epochs=1, val_accuracy=0.5))
    record = TrainingRecord.from_json({RECORD.to_json()!r})
    run_log.record(Event(run_log.RESULT, "m", result=record))
    """
    executed, said = run(tmp_path, {"a.py": trains, "b.py": "# %%\nprint('b')\n"})
    assert list(executed) == ["a.py", "b.py"]
    assert executed["a.py"].results == [RECORD]
    assert executed["b.py"].results == []
    assert "a.py: training m for 1 epochs" in said
    assert "a.py: m epoch 1/1, validation accuracy 50.00%" in said
    assert "a.py: m test accuracy 50.00%" in said
    assert any(line.startswith("Executing b.py (running: ") for line in said)
    assert not any("stderr" in line for line in said)
    outputs = executed["b.py"].notebook.read_text()
    assert '"text": [\n     "b\\n"' in outputs or '"b\\n"' in outputs

    model_cache.entry(RECORD.name, RECORD.cache_key).mkdir(parents=True)  # as `train` leaves it
    again, said = run(tmp_path, {"a.py": trains, "b.py": "# %%\nprint('b')\n"})
    assert all(page.from_cache for page in again.values()) and not said
    assert again["a.py"].results == [RECORD]  # as the page's run log gave it


def test_a_failing_cell_names_page_and_cell(tmp_path):
    page = """\
    # %% [markdown]
    # # A page
    # %%
    x = 1
    # %%
    raise RuntimeError("this cell is broken")
    """
    with pytest.raises(PageExecutionError) as failure:
        run(tmp_path, {"page.py": page})
    message = str(failure.value)
    assert message.startswith("Tutorial page page.py: code cell 2 (`raise RuntimeError")
    assert "raised an error" in message and "this cell is broken" in message


def test_a_conclusion_its_numbers_no_longer_support_fails_naming_it(tmp_path):
    page = """\
    # %%
    from mnist_book.conclusions import checked
    hidden_errors, convnet_errors = 232, 240
    # %% tags=["remove-input"]
    checked("The convnet makes fewer mistakes.", convnet_errors < hidden_errors,
            convnet=convnet_errors, hidden=hidden_errors)
    """
    with pytest.raises(PageExecutionError) as failure:
        run(tmp_path, {"claims.py": page})
    message = str(failure.value)
    assert message.startswith("Tutorial page claims.py: code cell 2 (`checked(")
    assert "states a conclusion that the page's own numbers no longer support" in message
    assert "'The convnet makes fewer mistakes.' (convnet=240, hidden=232)" in message


def test_a_hanging_cell_fails_at_the_timeout(tmp_path):
    started = time.monotonic()
    with pytest.raises(PageExecutionError, match=r"code cell 1 .* made no progress .* stuck"):
        run(tmp_path, {"page.py": "# %%\nimport time\ntime.sleep(120)\n"}, timeout=3)
    assert time.monotonic() - started < 60  # stopped, not waited out


def test_a_cell_that_trains_or_waits_its_turn_may_run_past_the_timeout(tmp_path):
    # 6 s in one cell with a 3 s timeout: 3.5 s waiting for a training turn, then epochs.
    # The kernel appends the events as `run_log.record` writes them, without importing
    # mnist_book: its import (Keras's) would take the cell's whole timeout before any event.
    waiting = json.dumps(Event(run_log.WAITING, "m").to_json())
    epochs = [json.dumps(Event(run_log.EPOCH, "m", epoch=e, epochs=3).to_json()) for e in (1, 2, 3)]
    page = f"""\
    # %%
    import os, time
    def record(line):
        with open(os.environ["{RUN_LOG_ENV}"], "a") as stream:
            stream.write(line + "\\n")
    record({waiting!r})
    time.sleep(3.5)
    for line in {epochs!r}:
        record(line)
        time.sleep(1)
    print("trained")
    """
    executed, said = run(tmp_path, {"page.py": page}, timeout=3)
    assert "trained" in executed["page.py"].notebook.read_text()
    assert "page.py: m waits for another training to finish" in said
    assert "page.py: m epoch 3/3" in said


def test_a_dead_kernel_is_reported_as_such(tmp_path):
    with pytest.raises(PageExecutionError, match=r"code cell 1 .* killed its kernel"):
        run(tmp_path, {"page.py": "# %%\nimport os\nos._exit(1)\n"})


def test_lines_printed_over_time_are_one_output_on_the_page(tmp_path):
    page = """\
    # %%
    import sys, time
    for epoch in range(3):
        print(f"epoch {epoch}", flush=True)
        time.sleep(0.3)
    print("to stderr", file=sys.stderr, flush=True)
    print("done")
    """
    executed, said = run(tmp_path, {"page.py": page})
    # The build's log says which cell put red text on the page, and what.
    assert "page.py: code cell 1 wrote to stderr, which the page shows: to stderr" in said
    notebook = json.loads(executed["page.py"].notebook.read_text())
    (cell,) = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    streams = [(o["name"], "".join(o["text"])) for o in cell["outputs"]]
    assert streams == [
        ("stdout", "epoch 0\nepoch 1\nepoch 2\n"),
        ("stderr", "to stderr\n"),
        ("stdout", "done\n"),
    ]


def test_a_cache_warning_is_said_in_the_log_and_not_shown_on_the_page(tmp_path, monkeypatch):
    """The page is for readers: a published cache out of reach is the author's business."""
    monkeypatch.delenv(PUBLISHED_CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv(PUBLISHED_CACHE_ENV, closed_port_url())
    page = """\
    # %%
    from pathlib import Path
    from mnist_book import published_cache
    print(published_cache.restore(Path("entry"), "models/m-0"))
    """
    executed, said = run(tmp_path, {"page.py": page})
    notebook = json.loads(executed["page.py"].notebook.read_text())
    (cell,) = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [(o["name"], "".join(o["text"])) for o in cell["outputs"]] == [("stdout", "False\n")]
    (line,) = [line for line in said if "published cache" in line]
    assert line.startswith("page.py: Not using the published cache at http://127.0.0.1:")
    assert not any("stderr" in line for line in said)


def test_a_solution_that_is_no_longer_right_fails_naming_its_exercise(tmp_path):
    page = """\
    # %%
    from mnist_book import exercises
    counted = 784 * 10  # the biases forgotten
    # %% tags=["solution", "remove-input"]
    exercises.solution("single-layer", 1, counted)
    """
    with pytest.raises(PageExecutionError) as failure:
        run(tmp_path, {"single-layer.py": page})
    message = str(failure.value)
    assert message.startswith("Tutorial page single-layer.py: code cell 2 (`exercises.solution(")
    assert "exercise 1 of the single-layer chapter ('Count the parameters')" in message
    assert f"(answer={784 * 10}, parameters={784 * 10 + 10})" in message


def test_a_page_that_trains_what_the_plan_does_not_list_fails_naming_it(tmp_path, isolated_cache):
    """The site's plan is the one list of its trainings: a page that trains something else
    fails at once, before training, instead of a build over a gathered cache training it."""
    page = """\
    # %%
    from dataclasses import replace
    from mnist_book.config import recipe
    from mnist_book.training import train
    # %%
    train("single_layer", replace(recipe("single_layer"), epochs=3))
    """
    with pytest.raises(PageExecutionError) as failure:
        run(tmp_path, {"unplanned.py": page}, planned=True)
    message = str(failure.value)
    assert message.startswith("Tutorial page unplanned.py: code cell 2 (`train(")
    assert "trains single_layer (model.fit)" in message and "mnist_book.plan" in message
    assert not list(isolated_cache.rglob("single_layer-*"))  # refused before it trained
