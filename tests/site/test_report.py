"""results.json and the tables the build fills in."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mnist_book.config import TrainConfig, recipe
from mnist_book.results import SCHEMA, Distribution, TrainingRecord
from mnist_book.site import pending, report
from mnist_book.site.page_cache import ExecutedPage

TWO_DEVICES = Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1"))


def result(name, accuracy, epochs=5):
    """A made-up model's training; 5 epochs are `TrainConfig`'s, so its label is its name."""
    return TrainingRecord(
        name=name,
        config=TrainConfig(epochs=epochs, learning_rate=0.001, schedule="constant"),
        test_accuracy=accuracy,
        test_loss=0.1234,
        train_seconds=12.3,
        params=7850,
        images_per_epoch=53_984,
        history={"loss": [0.5] * epochs, "seconds": [6.15] * epochs},
    )


PAGES = [
    ExecutedPage("a.py", Path("a.ipynb"), 30.0, [result("m1", 0.9)]),
    ExecutedPage("b.py", Path("b.ipynb"), 5.0, [result("m2", 0.99), result("m1", 0.9)], True),
]


def test_a_model_trained_by_several_pages_is_listed_once_in_page_order():
    names = [entry.name for entry in report.model_results(PAGES)]
    assert names == ["m1", "m2"]
    other_config = ExecutedPage("c.py", Path("c.ipynb"), 1.0, [result("m1", 0.95, epochs=3)])
    assert len(report.model_results([*PAGES, other_config])) == 3


def test_results_json_holds_models_and_build_information():
    text = report.results_json(PAGES)
    published = json.loads(text)
    assert [entry["name"] for entry in published["models"]] == ["m1", "m2"]
    assert [entry["label"] for entry in published["models"]] == ["m1", "m2"]
    assert all(entry["schema"] == SCHEMA for entry in published["models"])
    assert report.read_results(text) == [result("m1", 0.9), result("m2", 0.99)]
    assert published["build"]["python"] and "numpy" in published["build"]["versions"]
    assert len(published["build"]["data_sha256"]) == 4


def test_markers_are_replaced_by_their_tables():
    markdown = "Results\n\n<!-- mnist-book:results-table -->\n\n<!-- mnist-book:execution-times -->"
    filled = report.fill_markers(markdown, PAGES)
    assert "<!--" not in filled
    assert "| `m2` | 99.00% | 0.1234 | 7,850 | 5 | 0.001 | 12 s |" in filled
    # Slowest page first; b.py came from the cache.
    assert filled.index("| `a.py` | 30.0 s | yes |") < filled.index("| `b.py` | 5.0 s | cached |")
    assert report.fill_markers("no markers", PAGES) == "no markers"
    assert not pending.is_pending(filled)


def test_under_serve_the_tables_name_the_pages_not_in_them_yet():
    markdown = "<!-- mnist-book:results-table -->\n\n<!-- mnist-book:execution-times -->"
    filled = report.fill_markers(markdown, PAGES, still_executing=["Page C", "Page D"])
    assert filled.count("Still executing: Page C, Page D.") == 2
    assert filled.index("| `b.py` | 5.0 s | cached |") < filled.rindex("Still executing")
    assert pending.is_pending(filled) and not pending.is_executing(filled)  # others' executions


def test_build_info_lists_versions_and_checksums():
    text = report.build_info(report.build_information())
    assert "| numpy |" in text and "`train-images-idx3-ubyte.gz`" in text


def test_a_data_parallel_training_is_its_own_row_saying_where_it_ran():
    devices = ("/job:worker/replica:0/task:0/device:CPU:0",)
    workers = replace(result("m1", 0.9), distribution=Distribution("multi_worker", 2, 2, devices))
    pages = [*PAGES, ExecutedPage("d.py", Path("d.ipynb"), 1.0, [workers, workers])]
    listed = report.model_results(pages)
    assert [entry.distribution is not None for entry in listed] == [False, False, True]
    table = report.results_table(listed).splitlines()
    assert table[2].startswith("| `m1` | 90.00%")
    assert table[4].startswith("| `m1` on 2 workers, 2 replicas (CPU) | 90.00%")
    # Published and read back, the distribution is still there.
    assert report.read_results(report.results_json(pages))[2] == workers


def test_two_trainings_of_a_model_are_named_by_what_sets_them_apart():
    constant = replace(
        result("convnet_augmented", 0.99, epochs=15), config=recipe("convnet_augmented")
    )
    cosine = replace(
        result("convnet_augmented", 0.992, epochs=15),
        config=replace(constant.config, learning_rate=0.003, schedule="cosine", warmup_epochs=1),
    )
    table = report.results_table([constant, cosine]).splitlines()
    epochs = constant.config.epochs  # the recipe's: the table shows the config, not the history
    assert table[2].startswith(
        f"| `convnet_augmented` | 99.00% | 0.1234 | 7,850 | {epochs} | 0.001 |"
    )
    assert table[3].startswith(
        "| `convnet_augmented` (cosine schedule, learning rate 0.003, 1 warm-up epoch) | 99.20%"
    )
    assert table[3].endswith(f"| {epochs} | 0.003, cosine | 12 s |")
    # results.json names them as the table does.
    pages = [ExecutedPage("records.py", Path("r.ipynb"), 1.0, [constant, cosine])]
    published = json.loads(report.results_json(pages))["models"]
    assert [entry["label"] for entry in published] == [constant.label, cosine.label]
    assert len({constant.label, cosine.label}) == 2


def test_a_table_that_would_name_two_trainings_alike_is_refused():
    one = replace(result("m1", 0.9), distribution=TWO_DEVICES)
    # Another training on two devices of other names: a different training, the same words.
    other = replace(
        one, distribution=replace(TWO_DEVICES, devices=("/device:CPU:2", "/device:CPU:3"))
    )
    assert not one.same_training(other) and one.label == other.label
    with pytest.raises(ValueError, match=r"name different trainings alike: \['m1 on 2 devices"):
        report.results_table([one, other])


def test_short_runs_of_a_recipe_are_measurements_not_the_sites_models():
    convnet = replace(result("convnet", 0.991, epochs=15), config=recipe("convnet"))
    two_epochs = replace(convnet.config, epochs=2)
    short = replace(convnet, config=two_epochs, test_accuracy=0.985)
    runs = [short, replace(short, distribution=TWO_DEVICES)]
    pages = [
        ExecutedPage("convnet.py", Path("c.ipynb"), 1.0, [convnet]),
        ExecutedPage("distributed.py", Path("d.ipynb"), 1.0, runs),
    ]
    assert [report.is_short_run(run) for run in [convnet, *runs]] == [False, True, True]
    # Every training is still a result (the draw page chooses among them) ...
    assert report.model_results(pages) == [convnet, *runs]
    # ... but the table and results.json hold the site's models only.
    assert report.site_models(pages) == [convnet]
    table = report.fill_markers("<!-- mnist-book:results-table -->", pages)
    assert table.count("| `convnet`") == 1 and "2 epochs" not in table
    assert report.read_results(report.results_json(pages)) == [convnet]
    # A whole recipe on two devices is one of the site's models, named by where it trained.
    spread = replace(convnet, distribution=TWO_DEVICES)
    assert report.site_models([*pages, ExecutedPage("x.py", Path("x.ipynb"), 1.0, [spread])]) == [
        convnet,
        spread,
    ]
    # So is a run that changes more than the epochs, or a model without a recipe.
    other = replace(short, config=replace(two_epochs, batch_size=64))
    assert not report.is_short_run(other) and not report.is_short_run(result("m1", 0.9, epochs=1))


def test_the_build_says_which_pages_it_executed_and_serve_what_it_shows_now():
    assert report.execution_summary(PAGES) == "Executed 1 of 2 pages: a.py"
    cached = [replace(page, from_cache=True) for page in PAGES]
    assert report.execution_summary(cached) == "Executed 0 of 2 pages (all cached)"
    assert report.execution_summary(cached, ["c.py", "d.py"]) == (
        "Serving 2 of 4 pages executed; executing in the background: c.py, d.py"
    )
