"""Progress lines while pages execute, from the run log a page's kernel writes."""

import asyncio
import json
import warnings
from dataclasses import replace

import pytest
from made_records import made_record

from mnist_book import run_log
from mnist_book.results import Distribution
from mnist_book.run_log import Event
from mnist_book.site import progress

RECORD = made_record(name="convnet", test_accuracy=0.9922)


def test_each_event_is_one_line_naming_page_model_and_epoch():
    page = "convnet.py"
    assert progress.progress_line(page, Event(run_log.TRAINING, "convnet", epochs=15)) == (
        "convnet.py: training convnet for 15 epochs"
    )
    spread = Event(run_log.TRAINING, "convnet", epochs=2, distribution="2 workers")
    assert (
        progress.progress_line(page, spread)
        == "convnet.py: training convnet on 2 workers for 2 epochs"
    )
    epoch = Event(run_log.EPOCH, "convnet", epoch=3, epochs=15, val_accuracy=0.9871)
    assert progress.progress_line(page, epoch) == (
        "convnet.py: convnet epoch 3/15, validation accuracy 98.71%"
    )
    no_validation = Event(run_log.EPOCH, "convnet", epoch=3, epochs=15)
    assert progress.progress_line(page, no_validation) == "convnet.py: convnet epoch 3/15"
    assert progress.progress_line(page, Event(run_log.WAITING, "convnet")) == (
        "convnet.py: convnet waits for another training to finish"
    )
    assert progress.progress_line(page, Event(run_log.LOADED, "convnet")) == (
        "convnet.py: convnet loaded from the model cache"
    )
    result = Event(run_log.RESULT, "convnet", result=RECORD)
    assert progress.progress_line(page, result) == "convnet.py: convnet test accuracy 99.22%"
    warning = Event(run_log.WARNING, "", message="Not using the published cache.")
    assert progress.progress_line(page, warning) == "convnet.py: Not using the published cache."
    with pytest.raises(ValueError, match="something new"):
        Event("something new", "convnet")  # an unknown event is refused, not shown


def test_follow_reports_events_as_they_are_written_and_what_is_left_at_the_end(tmp_path):
    log_path = tmp_path / "run-log.jsonl"
    lines: list[str] = []
    seen: list[Event] = []

    def write(event):
        with open(log_path, "a") as stream:
            stream.write(json.dumps(event.to_json()) + "\n")

    async def page_that_trains():
        async with progress.follow(
            "p.py", log_path, lines.append, interval=0.01, on_event=seen.append
        ):
            write(Event(run_log.TRAINING, "m", epochs=2))
            await asyncio.sleep(0.2)
            assert lines == ["p.py: training m for 2 epochs"]  # seen while running
            write(Event(run_log.EPOCH, "m", epoch=1, epochs=2))
            write(Event(run_log.WARNING, "", message="Disk full."))  # for the log alone
            with open(log_path, "a") as stream:
                stream.write('{"version": 1, "kind": "epoch", "mod')  # still being written

    asyncio.run(page_that_trains())
    assert lines == ["p.py: training m for 2 epochs", "p.py: m epoch 1/2", "p.py: Disk full."]
    assert seen == [
        Event(run_log.TRAINING, "m", epochs=2),
        Event(run_log.EPOCH, "m", epoch=1, epochs=2),
    ]


def test_run_log_results_skip_progress_events(tmp_path, monkeypatch):
    log_path = tmp_path / "log.jsonl"
    monkeypatch.setenv("MNIST_BOOK_RUN_LOG", str(log_path))
    run_log.record(Event(run_log.TRAINING, "convnet", epochs=2))
    run_log.record(Event(run_log.RESULT, "convnet", result=RECORD))
    assert run_log.results(log_path) == [RECORD]
    monkeypatch.delenv("MNIST_BOOK_RUN_LOG")
    run_log.record(Event(run_log.RESULT, "ignored", result=RECORD))  # no run log: not written
    assert len(run_log.results(log_path)) == 1


@pytest.mark.parametrize(
    "event",
    [
        Event(run_log.TRAINING, "convnet", epochs=2, distribution="2 devices (CPU)"),
        Event(run_log.EPOCH, "convnet", epoch=1, epochs=2, val_accuracy=0.98),
        Event(run_log.EPOCH, "convnet", epoch=2, epochs=2),
        Event(run_log.WAITING, "convnet"),
        Event(run_log.LOADED, "convnet"),
        Event(run_log.RESULT, "convnet", result=RECORD),
        Event(
            run_log.RESULT,
            "convnet",
            result=replace(
                RECORD,
                cache_key=None,
                distribution=Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1")),
                replica_weights=("0f" * 32, "0f" * 32),
            ),
        ),
        Event(run_log.WARNING, "", message="Could not write the model cache at x."),
    ],
    ids=lambda event: event.kind,
)
def test_an_event_round_trips_through_the_run_log(event, tmp_path, monkeypatch):
    log_path = tmp_path / "log.jsonl"
    monkeypatch.setenv("MNIST_BOOK_RUN_LOG", str(log_path))
    assert Event.from_json(json.loads(json.dumps(event.to_json()))) == event
    run_log.record(event)
    run_log.record(event)
    events, end = run_log.read(log_path)
    assert events == [event, event]
    assert end == log_path.stat().st_size
    assert run_log.read(log_path, end) == ([], end)  # nothing new after the end


@pytest.mark.parametrize(
    "line",
    [
        {"version": 2, "kind": "training", "model": "m", "epochs": 1},
        {"version": "1", "kind": "training", "model": "m", "epochs": 1},
        {"event": "training", "model": "m", "epochs": 1},  # before events had a version
    ],
    ids=["newer", "a string", "unversioned"],
)
def test_read_rejects_an_event_of_another_version(line, tmp_path):
    log_path = tmp_path / "log.jsonl"
    good = Event(run_log.TRAINING, "m", epochs=1)
    log_path.write_text(json.dumps(good.to_json()) + "\n")
    events, end = run_log.read(log_path)
    assert events == [good]
    with open(log_path, "a") as stream:
        stream.write(json.dumps(line) + "\n")
    with pytest.raises(ValueError, match=r"version .*reads 1"):
        run_log.read(log_path, end)
    with pytest.raises(ValueError, match=r"version .*reads 1"):
        run_log.read(log_path)


def test_a_warning_goes_to_the_run_log_under_a_build_and_is_a_python_warning_elsewhere(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MNIST_BOOK_RUN_LOG", raising=False)
    with pytest.warns(UserWarning, match="^Disk full.$"):
        run_log.warn("Disk full.")
    log_path = tmp_path / "log.jsonl"
    monkeypatch.setenv("MNIST_BOOK_RUN_LOG", str(log_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_log.warn("Disk full.")
    assert run_log.read(log_path)[0] == [Event(run_log.WARNING, "", message="Disk full.")]
