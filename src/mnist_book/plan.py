"""The trainings the site's pages need: listed once, each resolved once, shared out to machines.

`site_plan()` is the one list of the trainings that the tutorial pages make (Keras's
``model.fit`` with a recipe, or a data-parallel training of the distributed page). A
`PlannedTraining` is a training's identity, model, config and distribution, and resolves its
cache key once. Pages and plan cannot disagree: the site's build sets ``MNIST_BOOK_PLANNED``
in every page's kernel, and there `require_planned` (called by `mnist_book.training.train`
and `mnist_book.distributed.train`) fails at once for a training the plan does not list.

`shares` deals the plan out to `n` machines, balanced by each training's expected seconds
(`expected_seconds`: its last measured run, from the model cache). `make_plan` resolves all
of it once into a `Plan`, the record (``mnist-book plan --json``) that a workflow's plan job
hands to its training jobs, so every machine trains the share it was dealt, whatever its own
cache holds; `mnist_book.shards` trains a share into a directory and merges such directories
into one cache.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from mnist_book import model_cache, published_cache
from mnist_book.config import TrainConfig, recipe
from mnist_book.paths import PLANNED_ENV
from mnist_book.results import Distribution, TrainingRecord

FIT = "fit"
"""The `PlannedTraining.strategy` of a training with Keras's ``model.fit`` (`training.train`)."""


class UnplannedTrainingError(RuntimeError):
    """A page asked for a training that `SITE_PLAN` does not list."""


@dataclass(frozen=True)
class PlannedTraining:
    """One training: model `name`, `config`, and how it runs.

    `strategy` is `FIT` or a `Distribution.strategy` ("one_device", "mirrored",
    "multi_worker"); `workers` and `replicas` as in `Distribution`.
    """

    name: str
    config: TrainConfig
    strategy: str = FIT
    workers: int = 1
    replicas: int = 1

    @property
    def distribution(self) -> Distribution | None:
        """None for `FIT`; otherwise the distribution (devices are not part of its identity)."""
        if self.strategy == FIT:
            return None
        return Distribution(self.strategy, self.workers, self.replicas, ())

    @property
    def label(self) -> str:
        """In words: "convnet_augmented (cosine, lr 0.003)", "convnet (2 workers, 2 epochs)"."""
        base = recipe(self.name)
        changed = [
            f"{field.name}={getattr(self.config, field.name)}"
            for field in dataclasses.fields(TrainConfig)
            if getattr(self.config, field.name) != getattr(base, field.name)
        ]
        if self.distribution is not None:
            changed.insert(0, self.distribution.strategy.replace("_", "-"))
            if self.strategy == "multi_worker":
                changed.insert(1, f"{self.workers} workers")
            elif self.strategy == "mirrored":
                changed.insert(1, f"{self.replicas} devices")
        return f"{self.name} ({', '.join(changed)})" if changed else self.name

    @functools.cached_property
    def key(self) -> str:
        """The model-cache key of this training (imports Keras: it builds the model)."""
        if self.distribution is None:
            from mnist_book.training import cache_key

            return cache_key(self.name, self.config)
        from mnist_book.distributed import cache_key as distributed_key

        return distributed_key(self.name, self.config, self.distribution)

    @property
    def entry(self) -> Path:
        """Its model-cache directory."""
        return model_cache.entry(self.name, self.key)

    def matches(self, name: str, config: TrainConfig, distribution: Distribution | None) -> bool:
        """Whether a training of `name` with `config` under `distribution` is this one."""
        if (name, config) != (self.name, self.config):
            return False
        if distribution is None or self.distribution is None:
            return distribution is None and self.distribution is None
        mine = self.distribution
        return (distribution.strategy, distribution.workers, distribution.replicas) == (
            mine.strategy,
            mine.workers,
            mine.replicas,
        )


@functools.cache
def site_plan() -> tuple[PlannedTraining, ...]:
    """Every training the site's pages make, in the order the pages make them."""
    from mnist_book.models import MODEL_NAMES

    # docs/records.py: the schedule step, convnet_augmented's recipe with a cosine schedule.
    scheduled = dataclasses.replace(
        recipe("convnet_augmented"), learning_rate=3e-3, schedule="cosine", warmup_epochs=1
    )
    # docs/distributed-training.py: two epochs of the convnet, four ways.
    two_epochs = dataclasses.replace(recipe("convnet"), epochs=2)
    return (
        *(PlannedTraining(name, recipe(name)) for name in MODEL_NAMES),
        PlannedTraining("convnet_augmented", scheduled),
        PlannedTraining("convnet", two_epochs),
        PlannedTraining("convnet", two_epochs, "one_device"),
        PlannedTraining("convnet", two_epochs, "mirrored", replicas=2),
        PlannedTraining("convnet", two_epochs, "multi_worker", workers=2, replicas=2),
    )


def require_planned(name: str, config: TrainConfig, distribution: Distribution | None) -> None:
    """Raise `UnplannedTrainingError` if ``MNIST_BOOK_PLANNED`` is set and the plan does not
    list this training: a page and the plan disagree."""
    if os.environ.get(PLANNED_ENV, "") in ("", "0"):
        return
    if any(planned.matches(name, config, distribution) for planned in site_plan()):
        return
    how = "model.fit" if distribution is None else distribution.strategy
    raise UnplannedTrainingError(
        f"This page trains {name} ({how}) with {config}, which the site's plan does not list: "
        "add it to mnist_book.plan (the plan shards the site's trainings over machines, and "
        "a build over its cache would otherwise train it)."
    )


def expected_seconds(planned: PlannedTraining) -> float | None:
    """Seconds `planned` is expected to train: its own cached record, else the last measured
    training of the same model, strategy and epochs in the model cache; None if never measured."""
    own = model_cache.stored_record(planned.entry)
    if own is not None:
        return own.train_seconds
    measured = [
        (path.stat().st_mtime, record)
        for path in model_cache.models_dir().glob(f"{planned.name}-*")
        if (record := model_cache.stored_record(path)) is not None and _alike(record, planned)
    ]
    return max(measured, key=lambda pair: pair[0])[1].train_seconds if measured else None


def _alike(record: TrainingRecord, planned: PlannedTraining) -> bool:
    distribution = record.distribution.strategy if record.distribution else FIT
    return (
        record.name == planned.name
        and distribution == planned.strategy
        and record.config.epochs == planned.config.epochs
    )


def shares(
    plan: tuple[PlannedTraining, ...],
    machines: int,
    seconds: dict[PlannedTraining, float | None],
) -> list[list[PlannedTraining]]:
    """`plan` dealt out to `machines`, longest first to the least loaded (LPT scheduling).

    `seconds` gives each training's expected seconds; a training never measured counts as the
    mean of those that were (or 1 when none was). The result does not depend on the order of
    `plan` beyond ties, which keep the plan's order.
    """
    if machines < 1:
        raise ValueError(f"machines must be at least 1, got {machines}.")
    known = [value for value in seconds.values() if value is not None]
    default = sum(known) / len(known) if known else 1.0
    cost = {planned: seconds.get(planned) or default for planned in plan}
    loads = [0.0] * machines
    dealt: list[list[PlannedTraining]] = [[] for _ in range(machines)]
    for planned in sorted(plan, key=lambda each: -cost[each]):
        lightest = loads.index(min(loads))
        dealt[lightest].append(planned)
        loads[lightest] += cost[planned]
    return dealt


PLAN_SCHEMA = 1
"""The version of `Plan`'s JSON."""


@dataclass(frozen=True)
class PlanEntry:
    """One training of a `Plan`: its identity, where a cache holds it, its expected minutes
    (None if never measured) and the share (from 1) it was dealt to."""

    model: str
    training: str
    strategy: str
    key: str
    cached: str
    expected_minutes: float | None
    share: int


@dataclass(frozen=True)
class Plan:
    """The site's trainings dealt out to `machines`, resolved once (`make_plan`)."""

    machines: int
    entries: tuple[PlanEntry, ...]

    def to_json(self) -> dict:
        """JSON-ready data, with the schema version."""
        return {
            "schema": PLAN_SCHEMA,
            "machines": self.machines,
            "trainings": [dataclasses.asdict(entry) for entry in self.entries],
        }

    @classmethod
    def from_json(cls, data: object) -> Plan:
        """A plan read back; `ValueError` saying what is wrong unless it is one of this schema."""
        if not isinstance(data, dict) or data.get("schema") != PLAN_SCHEMA:
            raise ValueError(f"not a plan of schema {PLAN_SCHEMA}: make it again")
        try:
            return cls(data["machines"], tuple(PlanEntry(**row) for row in data["trainings"]))
        except (KeyError, TypeError) as error:
            raise ValueError(f"a malformed plan ({error}): make it again") from None

    def share(self, index: int) -> tuple[PlanEntry, ...]:
        """The entries dealt to share `index` (from 1)."""
        return tuple(entry for entry in self.entries if entry.share == index)


def make_plan(machines: int = 1) -> Plan:
    """The site's plan dealt out to `machines`, each training's key and state resolved now."""
    trainings = site_plan()
    seconds = {planned: expected_seconds(planned) for planned in trainings}
    share_of = {
        planned: index
        for index, dealt in enumerate(shares(trainings, machines, seconds), start=1)
        for planned in dealt
    }
    return Plan(
        machines,
        tuple(
            PlanEntry(
                model=planned.name,
                training=planned.label,
                strategy=planned.strategy,
                key=planned.key,
                cached=cached(planned),
                expected_minutes=None if seconds[planned] is None else seconds[planned] / 60,
                share=share_of[planned],
            )
            for planned in trainings
        ),
    )


def cached(planned: PlannedTraining) -> str:
    """Where the cache holds `planned`: "local", "published" or "no" (looks up, never trains)."""
    if planned.entry.is_dir():
        return "local"
    if published_cache.lists(model_cache.published_name(planned.entry)):
        return "published"
    return "no"
