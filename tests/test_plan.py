"""The site's trainings as a plan: listed once, dealt out to machines, trained in shares that
merge into one cache a build reads without training."""

import hashlib
import json
import re
import tarfile
from dataclasses import replace

import pytest

from mnist_book import model_cache, paths, plan, published_cache, shards, training
from mnist_book.cli import main
from mnist_book.config import TrainConfig, recipe
from mnist_book.model_cache import TrainingRefused
from mnist_book.models import MODEL_NAMES
from mnist_book.plan import PlannedTraining, UnplannedTrainingError

TINY = TrainConfig(epochs=1, batch_size=64, train_size=512)
TINY_PLAN = (
    PlannedTraining("single_layer", TINY),
    PlannedTraining("hidden_layer", TINY),
    PlannedTraining("single_layer", replace(TINY, seed=1)),
)


pytestmark = pytest.mark.usefixtures("fresh_manifests")


@pytest.fixture
def tiny_plan(monkeypatch, mnist_dir, isolated_cache):
    """The site's plan replaced by three small trainings (seconds each)."""
    monkeypatch.setattr(plan, "site_plan", lambda: TINY_PLAN)
    return TINY_PLAN


def test_the_plan_lists_every_recipe_and_the_pages_variants_once():
    trainings = plan.site_plan()
    assert [t.name for t in trainings[: len(MODEL_NAMES)]] == list(MODEL_NAMES)
    assert all(t.config == recipe(t.name) for t in trainings[: len(MODEL_NAMES)])
    assert len({t.key for t in trainings}) == len(trainings)  # no training twice
    strategies = {t.strategy for t in trainings}
    assert strategies == {plan.FIT, "one_device", "mirrored", "multi_worker"}
    assert "convnet (multi-worker, 2 workers, epochs=2)" in {t.label for t in trainings}


def test_a_training_the_plan_does_not_list_fails_in_a_build_before_it_trains(monkeypatch):
    unplanned = replace(recipe("single_layer"), epochs=3)
    plan.require_planned("single_layer", unplanned, None)  # outside a build: anything goes
    monkeypatch.setenv(paths.PLANNED_ENV, "1")
    plan.require_planned("single_layer", recipe("single_layer"), None)
    with pytest.raises(UnplannedTrainingError, match=r"trains single_layer .*mnist_book\.plan"):
        training.train("single_layer", unplanned)  # raises before loading any data


def test_shares_balance_the_expected_seconds_and_hold_every_training_once():
    a, b, c, d, e = (PlannedTraining("convnet", replace(TINY, seed=s)) for s in range(5))
    seconds = {a: 10.0, b: 9.0, c: 6.0, d: 5.0, e: None}  # e never measured: the mean, 7.5
    dealt = plan.shares((a, b, c, d, e), 2, seconds)
    assert sorted(map(len, dealt)) == [2, 3]
    assert {t for share in dealt for t in share} == {a, b, c, d, e}
    loads = sorted(sum(seconds[t] or 7.5 for t in share) for share in dealt)
    assert loads == [16.5, 21.0]  # b+e | a+c+d (longest first, to the lighter machine)
    assert plan.shares((a, b), 1, seconds) == [[a, b]]
    assert plan.shares((a,), 3, seconds) == [[a], [], []]
    with pytest.raises(ValueError, match="at least 1"):
        plan.shares((a,), 0, seconds)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/2/3"])
def test_a_share_that_is_not_i_of_n_is_refused(text):
    with pytest.raises(shards.ShardError, match=r"I/N|between 1 and N"):
        shards.parse_shard(text)


def test_shares_trained_apart_merge_into_a_cache_a_build_reads_without_training(
    tiny_plan, tmp_path, monkeypatch
):
    """Two "machines" each train their share into a directory; merged, the cache gives every
    training of the plan to a fresh cache, with the same numbers, and nothing trains."""
    one, two = tmp_path / "share-1", tmp_path / "share-2"
    dealt = plan.make_plan(machines=2)  # once, by the plan job, for both machines
    first = shards.train_share(1, 2, one, log=lambda line: None, given=dealt)
    second = shards.train_share(2, 2, two, log=lambda line: None, given=dealt)
    assert len(first.entries) + len(second.entries) == len(tiny_plan)
    trained = {t: model_cache.stored_record(t.entry) for t in tiny_plan}
    assert plan.expected_seconds(tiny_plan[0]) == trained[tiny_plan[0]].train_seconds

    merged = tmp_path / "merged"
    shards.merge([one, two], merged, log=lambda line: None)

    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "fresh"))
    monkeypatch.setenv(paths.PUBLISHED_CACHE_DIR_ENV, str(merged))
    monkeypatch.setenv(paths.REQUIRE_CACHED_ENV, "1")
    for planned in tiny_plan:
        assert plan.cached(planned) == "published"
        result = training.train(planned.name, planned.config)
        assert result.test_accuracy == trained[planned].test_accuracy
        assert plan.cached(planned) == "local"
    with pytest.raises(TrainingRefused, match="hidden_layer"):
        training.train("hidden_layer", replace(TINY, seed=1))  # not in any share


def test_a_plan_is_read_back_and_a_stale_one_is_refused(tiny_plan, tmp_path, monkeypatch):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.make_plan(machines=2).to_json()))
    given = shards.read_plan(path)
    assert given == plan.make_plan(machines=2)
    assert [t.key for t in shards.share(1, 2, given) + shards.share(2, 2, given)] != []
    with pytest.raises(shards.ShardError, match="deals 2 shares, not 3"):
        shards.share(1, 3, given)
    monkeypatch.setattr(plan, "site_plan", lambda: TINY_PLAN[1:])  # the site changed since
    stale = next(entry.training for entry in given.entries if entry.model == "single_layer")
    index = next(e.share for e in given.entries if e.training == stale)
    with pytest.raises(shards.ShardError, match=f"stale: .*{re.escape(stale)}"):
        shards.share(index, 2, given)
    path.write_text('{"schema": 0}')
    with pytest.raises(shards.ShardError, match="not a plan of schema 1"):
        shards.read_plan(path)


def test_merging_keeps_one_of_an_entry_twice_and_says_which(tiny_plan, tmp_path):
    one, again = tmp_path / "one", tmp_path / "again"
    shards.train_share(1, 1, one, log=lambda line: None)
    shards.train_share(1, 1, again, log=lambda line: None)  # all cached: the same entries
    said = []
    manifest = shards.merge([one, again], tmp_path / "merged", log=said.append)
    assert len(manifest.entries) == len(tiny_plan)
    kept = [line for line in said if "kept" in line]
    assert len(kept) == len(tiny_plan)
    assert all(f"kept {one}'s archive; {again} had the same one" in line for line in kept)


def test_a_damaged_or_hostile_share_is_refused_naming_it(tiny_plan, tmp_path):
    share = tmp_path / "share"
    manifest = shards.train_share(1, 1, share, log=lambda line: None)
    name = sorted(manifest.entries)[0]
    archive = share / (name + published_cache.ARCHIVE_SUFFIX)

    with pytest.raises(shards.ShardError, match=r"is not a share: it has no manifest\.json"):
        shards.merge([tmp_path], tmp_path / "out")

    original = archive.read_bytes()
    archive.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(shards.ShardError, match=f"refusing the archive of {name}: .*sha256"):
        shards.merge([share], tmp_path / "out")

    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tar:
        tar.add(tmp_path / "share" / "manifest.json", arcname="../../escaped")
    archive.write_bytes(hostile.read_bytes())
    manifest_path = share / published_cache.MANIFEST
    listed = json.loads(manifest_path.read_text())
    entry = listed["entries"][name]
    entry["bytes"] = len(hostile.read_bytes())
    entry["sha256"] = hashlib.sha256(hostile.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(listed))
    with pytest.raises(shards.ShardError, match=f"refusing the archive of {name}"):
        shards.merge([share], tmp_path / "out")
    assert not (tmp_path / "escaped").exists()

    archive.unlink()
    with pytest.raises(shards.ShardError, match=f"lists {name}, whose archive is missing"):
        shards.merge([share], tmp_path / "out")


def test_the_plan_command_lists_keys_cached_state_and_shares(tiny_plan, capsys):
    training.train("single_layer", TINY, log=lambda line: None)
    assert main(["plan", "--json", "--machines", "2"]) == 0
    listed = json.loads(capsys.readouterr().out)
    rows = listed["trainings"]
    assert [row["key"] for row in rows] == [t.key for t in tiny_plan]
    assert [row["cached"] for row in rows] == ["local", "no", "no"]
    assert rows[0]["expected_minutes"] > 0  # as long as that training took
    assert rows[1]["expected_minutes"] is None  # hidden_layer was never trained here
    assert listed["machines"] == 2 and {row["share"] for row in rows} == {1, 2}
    assert main(["plan"]) == 0
    table = capsys.readouterr().out
    assert "seed=1" in table and tiny_plan[1].key[:12] in table
