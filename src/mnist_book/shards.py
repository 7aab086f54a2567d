"""A cold build spread over machines: each trains a share of the plan into a directory, and
the directories merge into one cache that a build reads without training.

A share's directory has the published cache's format (`mnist_book.published_cache`): one
archive per model-cache entry, named by the entry (which holds its cache key), and a
``manifest.json`` with each archive's size and sha256. `merge` checks every archive of every
directory as a lookup in the published cache would (size, sha256, members that unpack inside
their entry), keeps the first of two archives of one entry and says which it kept, and
refuses a directory that is not a share, naming it and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from mnist_book import model_cache, plan, published_cache
from mnist_book.plan import FIT, PlannedTraining
from mnist_book.published_cache import MANIFEST, Manifest, PublishedCacheError, PublishedEntry


class ShardError(Exception):
    """A share cannot be trained or merged: what and why, and what to do."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` as (2, 4): the second of four shares (numbered from 1)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ShardError(f"A share is I/N, such as 1/4, not {text!r}.") from None
    if not 1 <= index <= count:
        raise ShardError(f"Share {text}: I must be between 1 and N.")
    return index, count


def read_plan(path: Path) -> plan.Plan:
    """The plan that ``mnist-book plan --json`` wrote to `path`; `ShardError` if it is not one."""
    try:
        return plan.Plan.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ShardError(f"No plan at {path}: write one with mnist-book plan --json.") from None
    except ValueError as error:
        raise ShardError(f"{path} is {error}.") from None


def share(index: int, count: int, given: plan.Plan | None = None) -> list[PlannedTraining]:
    """The trainings of share `index` (from 1) of `count`: as the `given` plan dealt them,
    or, without one, dealt here, balanced by this machine's expected seconds.

    Machines must deal from one plan: each one's cache changes as it trains, and so would the
    dealing. A given plan whose keys the site's plan no longer has is refused (it is stale).
    """
    trainings = plan.site_plan()
    if given is None:
        seconds = {planned: plan.expected_seconds(planned) for planned in trainings}
        return plan.shares(trainings, count, seconds)[index - 1]
    if given.machines != count:
        raise ShardError(f"The plan deals {given.machines} shares, not {count}.")
    by_key = {planned.key: planned for planned in trainings}
    stale = [entry.training for entry in given.share(index) if entry.key not in by_key]
    if stale:
        raise ShardError(
            f"The plan is stale: the site no longer makes {', '.join(stale)} as planned "
            "(its code or recipe changed). Make the plan again with mnist-book plan --json."
        )
    return [by_key[entry.key] for entry in given.share(index)]


def run(planned: PlannedTraining, log: Callable[[str], None] = print) -> None:
    """Train `planned` into the model cache by its own procedure (loads it if cached)."""
    if planned.strategy == FIT:
        from mnist_book import training

        training.train(planned.name, planned.config, log=log)
    elif planned.strategy == "multi_worker":
        from mnist_book import launch

        launch.train_on_local_workers(
            planned.name, planned.config, workers=planned.workers, log=log
        )
    else:
        from mnist_book import distributed, strategies

        strategy = (
            strategies.one_device_strategy()
            if planned.strategy == "one_device"
            else strategies.local_strategy(devices=planned.replicas)
        )
        distributed.train(planned.name, planned.config, strategy, log=log)


def train_share(
    index: int,
    count: int,
    into: Path,
    log: Callable[[str], None] = print,
    given: plan.Plan | None = None,
) -> Manifest:
    """Train share `index` of `count` (as the `given` plan dealt it, if given; see `share`)
    and write its model-cache entries into `into`."""
    # A mirrored training splits the CPU into logical devices, which TensorFlow allows only
    # before it first runs (as the distributed page's first cell does): it goes first.
    trainings = sorted(share(index, count, given), key=lambda each: each.strategy != "mirrored")
    log(f"Share {index}/{count}: {len(trainings)} trainings.")
    for planned in trainings:
        log(f"Share {index}/{count}: {planned.label}")
        run(planned, log)
    entries = {model_cache.published_name(planned.entry): planned.entry for planned in trainings}
    into.mkdir(parents=True, exist_ok=True)
    return published_cache.publish(entries, into)


def merge(sources: Sequence[Path], into: Path, log: Callable[[str], None] = print) -> Manifest:
    """Every entry of the share directories `sources`, checked, as one cache in `into`.

    Raises `ShardError` naming the directory and the entry for anything that is not a sound
    share: no or a malformed manifest, an archive missing, of another size or sha256, or one
    whose members would unpack outside its entry (or are links or devices).
    """
    kept: dict[str, tuple[Path, PublishedEntry]] = {}
    for source in sources:
        for name, published in _manifest(source).entries.items():
            archive = _checked_archive(source, name, published)
            if name in kept:
                first, earlier = kept[name]
                same = "the same" if earlier.sha256 == published.sha256 else "a different"
                log(f"{name}: kept {first}'s archive; {source} had {same} one (sha256).")
                continue
            kept[name] = (source, published)
            target = into / (name + published_cache.ARCHIVE_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive)
    manifest = Manifest({name: published for name, (_, published) in kept.items()})
    into.mkdir(parents=True, exist_ok=True)
    (into / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1) + "\n")
    log(f"Merged {len(kept)} entries from {len(sources)} shares into {into}.")
    return manifest


def _manifest(source: Path) -> Manifest:
    path = source / MANIFEST
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ShardError(f"{source} is not a share: it has no {MANIFEST}.") from None
    except (ValueError, PublishedCacheError) as error:
        raise ShardError(f"{source} is not a share: {path} is unreadable ({error}).") from None


def _checked_archive(source: Path, name: str, published: PublishedEntry) -> bytes:
    """The archive of entry `name` in `source`, after the checks a published lookup makes."""
    path = source / (name + published_cache.ARCHIVE_SUFFIX)
    try:
        if not path.resolve().is_relative_to(source.resolve()):
            raise PublishedCacheError("its name leads outside the share")
        archive = path.read_bytes()
        if len(archive) != published.bytes:
            raise PublishedCacheError(f"it has {len(archive)} bytes, not {published.bytes}")
        if hashlib.sha256(archive).hexdigest() != published.sha256:
            raise PublishedCacheError("its sha256 is not the manifest's")
        with tempfile.TemporaryDirectory() as scratch:  # unpacks inside its entry, or refuses
            published_cache.unpack(archive, Path(scratch) / Path(name).name)
    except FileNotFoundError:
        message = f"{source}: the manifest lists {name}, whose archive is missing."
        raise ShardError(message) from None
    except PublishedCacheError as error:
        raise ShardError(
            f"{source}: refusing the archive of {name}: {error}. Train that share again."
        ) from None
    return archive
