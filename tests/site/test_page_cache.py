"""The execution cache: keyed on code cells and environment; prose edits reuse outputs."""

import json
import logging
import shutil
import warnings
from dataclasses import asdict

import nbformat
import pytest
from made_records import made_record

from mnist_book import model_cache, published_cache
from mnist_book.paths import PUBLISHED_CACHE_DIR_ENV
from mnist_book.site.page_cache import PageCache, read_script

SCRIPT = """\
# %% [markdown]
# # A page
# %%
print(6 * 7)
"""


RECORD = made_record(test_accuracy=0.875, history={"loss": [0.4], "seconds": [2.5]})


@pytest.fixture(autouse=True)
def trained(isolated_cache):
    """RECORD's model in the model cache, as after its training: a page reporting it is valid."""
    entry = model_cache.entry(RECORD.name, RECORD.cache_key)
    entry.mkdir(parents=True)
    (entry / "model.keras").write_bytes(b"weights")
    return entry


def executed(script_path):
    """The script's notebook, as if executed: its code cell printed 42."""
    notebook = read_script(script_path)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    notebook.cells[1].execution_count = 1
    return notebook


def test_stable_cell_ids(tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    assert [cell.id for cell in read_script(script).cells] == ["cell-0", "cell-1"]


def test_a_stored_page_is_found_again_and_a_prose_edit_keeps_its_outputs(tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env-1")
    assert cache.load("page.py", read_script(script)) is None
    stored = cache.store("page.py", executed(script), 3.5, [RECORD])
    assert cache.previous_seconds("page.py") == 3.5

    script.write_text(SCRIPT.replace("# # A page", "# # A page\n#\n# New prose."))
    page = cache.load("page.py", read_script(script))
    assert page is not None and page.from_cache and page.results == [RECORD]
    assert page.notebook == stored.notebook
    notebook = nbformat.read(page.notebook, as_version=4)
    assert "New prose." in notebook.cells[0].source
    assert notebook.cells[1].outputs[0].text == "42\n"


def test_a_code_edit_or_another_environment_misses(tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env-1")
    cache.store("page.py", executed(script), 1.0, [])
    assert PageCache(tmp_path / "cache", "env-2").load("page.py", read_script(script)) is None
    script.write_text(SCRIPT.replace("6 * 7", "6 * 8"))
    assert cache.load("page.py", read_script(script)) is None


def test_only_the_latest_entry_of_a_page_is_kept(tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env")
    first = cache.store("page.py", executed(script), 1.0, [])
    script.write_text(SCRIPT.replace("6 * 7", "6 * 8"))
    second = cache.store("page.py", executed(script), 1.0, [])
    assert not first.notebook.exists() and second.notebook.exists()


def test_an_unreadable_entry_is_a_miss(tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env")
    stored = cache.store("page.py", executed(script), 1.0, [])
    stored.notebook.with_suffix(".json").write_text(json.dumps({"seconds": 1.0}))  # no results
    assert cache.load("page.py", read_script(script)) is None
    stored.notebook.write_text("{not json")
    assert cache.load("page.py", read_script(script)) is None


@pytest.mark.parametrize(
    "results",
    [
        [{**RECORD.to_json(), "schema": 99}],  # written by a newer mnist-book
        [{**RECORD.to_json(), "test_accuracy": None}],
        [{"name": "m"}],  # not a training result at all
    ],
    ids=["unknown schema", "malformed", "not a record"],
)
def test_an_entry_whose_results_cannot_be_read_is_executed_again(results, tmp_path):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env")
    stored = cache.store("page.py", executed(script), 1.0, [RECORD])
    assert cache.load("page.py", read_script(script)).results == [RECORD]
    meta = stored.notebook.with_suffix(".json")
    meta.write_text(json.dumps({"seconds": 1.0, "results": results}))
    assert cache.load("page.py", read_script(script)) is None


def test_an_entry_of_the_unversioned_results_is_executed_again(tmp_path):
    """Before records had a schema, a page's results were summaries without their history."""
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env")
    stored = cache.store("page.py", executed(script), 1.0, [RECORD])
    summary = {
        "name": "m",
        "test_accuracy": 0.875,
        "test_loss": 0.4,
        "epochs": 1,
        "train_seconds": 2.5,
        "params": 7_850,
        "config": asdict(RECORD.config),
        "cache_key": "ab" * 32,
    }
    meta = stored.notebook.with_suffix(".json")
    meta.write_text(json.dumps({"seconds": 1.0, "results": [summary]}))
    assert cache.load("page.py", read_script(script)) is None


def test_a_page_executed_elsewhere_is_taken_from_the_published_cache(tmp_path, monkeypatch):
    """Another machine's build published its pages; this one executes nothing."""
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    elsewhere = PageCache(tmp_path / "elsewhere", "env-1")
    elsewhere.store("page.py", executed(script), 3.5, [RECORD])
    manifest = published_cache.publish(elsewhere.published_entries(), tmp_path / "published")
    monkeypatch.setenv(PUBLISHED_CACHE_DIR_ENV, str(tmp_path / "published"))
    here = PageCache(tmp_path / "here", "env-1")
    script.write_text(SCRIPT.replace("6 * 7", "6 * 8"))
    assert here.load("page.py", read_script(script)) is None  # not published
    here.store("page.py", executed(script), 1.0, [])  # executed here instead
    script.write_text(SCRIPT)
    (tmp_path / "elsewhere").rename(tmp_path / "gone")

    page = here.load("page.py", read_script(script))

    assert page is not None and page.from_cache and page.results == [RECORD]
    assert nbformat.read(page.notebook, as_version=4).cells[1].outputs[0].text == "42\n"
    assert list(here.published_entries()) == list(manifest.entries)  # the older one is gone
    assert here.stored_results(page.notebook.parent) == [RECORD]


def test_an_unusable_published_page_is_one_line_in_the_build_log(tmp_path, monkeypatch, caplog):
    """Not a Python warning, which MkDocs prints with the source lines of its call."""
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    elsewhere = PageCache(tmp_path / "elsewhere", "env-1")
    elsewhere.store("page.py", executed(script), 3.5, [RECORD])
    published_cache.publish(elsewhere.published_entries(), tmp_path / "published")
    (archive,) = (tmp_path / "published").rglob("*" + published_cache.ARCHIVE_SUFFIX)
    archive.write_bytes(archive.read_bytes()[:-10])  # truncated
    monkeypatch.setenv(PUBLISHED_CACHE_DIR_ENV, str(tmp_path / "published"))
    published_cache._manifest.cache_clear()
    caplog.set_level(logging.INFO, logger="mkdocs")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert PageCache(tmp_path / "here", "env-1").load("page.py", read_script(script)) is None

    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith("mnist_book: Not using the published cache entry pages/page/")
    assert "bytes, not" in line  # it says what is wrong: truncated
    assert "Computing it here" in line and "\n" not in line


def test_a_page_whose_models_are_gone_is_executed_again(tmp_path, trained, caplog):
    """Its outputs are fine, but the draw page would find no model to export: retrain it."""
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    cache = PageCache(tmp_path / "cache", "env-1")
    cache.store("page.py", executed(script), 3.5, [RECORD])
    assert cache.load("page.py", read_script(script)) is not None
    shutil.rmtree(trained)
    caplog.set_level(logging.INFO, logger="mkdocs")

    assert cache.load("page.py", read_script(script)) is None

    (line,) = [record.getMessage() for record in caplog.records]
    assert line == "mnist_book: Re-executing page.py: its model m is not in the model cache."


def test_a_published_page_comes_with_its_published_models_or_not_at_all(
    tmp_path, trained, monkeypatch
):
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    elsewhere = PageCache(tmp_path / "elsewhere", "env-1")
    elsewhere.store("page.py", executed(script), 3.5, [RECORD])
    pages_only = tmp_path / "pages-only"
    published_cache.publish(elsewhere.published_entries(), pages_only)
    with_models = tmp_path / "with-models"
    entries = {**elsewhere.published_entries(), model_cache.published_name(trained): trained}
    published_cache.publish(entries, with_models)
    shutil.rmtree(trained)  # this machine has trained nothing

    monkeypatch.setenv(PUBLISHED_CACHE_DIR_ENV, str(pages_only))
    assert PageCache(tmp_path / "here", "env-1").load("page.py", read_script(script)) is None
    assert not trained.exists()

    monkeypatch.setenv(PUBLISHED_CACHE_DIR_ENV, str(with_models))
    page = PageCache(tmp_path / "there", "env-1").load("page.py", read_script(script))
    assert page is not None and page.results == [RECORD]
    assert (trained / "model.keras").read_bytes() == b"weights"
