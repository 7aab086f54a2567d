"""Progress lines while pages execute, from the run log a page's kernel writes."""

import asyncio
import json

from mnist_book import run_log
from mnist_book.site import progress


def test_each_event_is_one_line_naming_page_model_and_epoch():
    page = "convnet.py"
    assert progress.describe(page, {"event": "training", "model": "convnet", "epochs": 15}) == (
        "convnet.py: training convnet for 15 epochs"
    )
    spread = {"event": "training", "model": "convnet", "epochs": 2, "distribution": "2 workers"}
    assert (
        progress.describe(page, spread) == "convnet.py: training convnet on 2 workers for 2 epochs"
    )
    epoch = {"event": "epoch", "model": "convnet", "epoch": 3, "epochs": 15, "val_accuracy": 0.9871}
    assert progress.describe(page, epoch) == (
        "convnet.py: convnet epoch 3/15, validation accuracy 98.71%"
    )
    assert progress.describe(page, {**epoch, "val_accuracy": None}) == (
        "convnet.py: convnet epoch 3/15"
    )
    assert progress.describe(page, {"event": "waiting", "model": "convnet"}) == (
        "convnet.py: convnet waits for another training to finish"
    )
    assert progress.describe(page, {"event": "loaded", "model": "convnet"}) == (
        "convnet.py: convnet loaded from the model cache"
    )
    result = {"event": run_log.RESULT, "name": "convnet", "test_accuracy": 0.9922}
    assert progress.describe(page, result) == "convnet.py: convnet test accuracy 99.22%"
    assert progress.describe(page, {"event": "something new"}) is None


def test_follow_reports_events_as_they_are_written_and_what_is_left_at_the_end(tmp_path):
    log_path = tmp_path / "run-log.jsonl"
    lines: list[str] = []

    def write(event):
        with open(log_path, "a") as stream:
            stream.write(json.dumps(event) + "\n")

    async def page_that_trains():
        async with progress.follow("p.py", log_path, lines.append, interval=0.01):
            write({"event": "training", "model": "m", "epochs": 2})
            await asyncio.sleep(0.2)
            assert lines == ["p.py: training m for 2 epochs"]  # seen while running
            write({"event": "epoch", "model": "m", "epoch": 1, "epochs": 2})
            with open(log_path, "a") as stream:
                stream.write('{"event": "epoch", "mod')  # a line still being written

    asyncio.run(page_that_trains())
    assert lines == ["p.py: training m for 2 epochs", "p.py: m epoch 1/2"]


def test_run_log_results_skip_progress_events(tmp_path, monkeypatch):
    log_path = tmp_path / "log.jsonl"
    monkeypatch.setenv("MNIST_BOOK_RUN_LOG", str(log_path))
    run_log.record("training", model="m", epochs=1)
    run_log.record(run_log.RESULT, name="m", test_accuracy=0.5)
    assert run_log.results(log_path) == [{"name": "m", "test_accuracy": 0.5}]
    monkeypatch.delenv("MNIST_BOOK_RUN_LOG")
    run_log.record(run_log.RESULT, name="ignored")  # no run log configured: nothing written
    assert len(run_log.results(log_path)) == 1
