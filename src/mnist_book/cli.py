"""The ``mnist-book`` command: the data, training and results, outside the site.

- ``mnist-book data``: locate (downloading if needed) and verify the four MNIST files.
- ``mnist-book train NAME``: train a registered model with the site's recipe, or overrides;
  data-parallel with ``--devices N`` (local GPUs or logical CPUs), ``--workers N`` (local
  worker processes) or ``--cluster`` (one worker of a cluster, from ``TF_CONFIG`` or Slurm).
- ``mnist-book results``: the site's models as the trained-model cache holds them (never trains).
- ``mnist-book publish-cache DIR``: a finished build's pages, models and exports as a
  published cache (`mnist_book.published_cache`).
- ``mnist-book plan``: every training the site's pages need, its cache key, whether a cache
  holds it and its expected minutes (`mnist_book.plan`); ``--machines N`` deals them out.
- ``mnist-book train-share I/N --into DIR``: train the plan's I-th of N shares into DIR, in
  the published cache's format; ``mnist-book merge-cache DIR... --into DIR`` merges shares
  (`mnist_book.shards`).

Keras takes seconds to import, so it is imported inside the subcommands that need it:
``mnist-book --help`` and ``mnist-book data`` never import it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mnist_book
from mnist_book import paths

if TYPE_CHECKING:
    from mnist_book.results import TrainingRecord

PROG = "mnist-book"


class _ModelNames:
    """The registry's model names for argparse ``choices``, imported (with Keras) on first use.

    argparse only looks at the choices to check a value or to show them, so neither
    ``mnist-book --help`` nor ``mnist-book data`` pays for importing Keras.
    """

    def _names(self) -> tuple[str, ...]:
        from mnist_book.models import MODEL_NAMES

        return MODEL_NAMES

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mnist-book`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="MNIST data, training and results of the mnist-book site, from the shell.",
        epilog=(
            f"Environment: {paths.DATA_DIR_ENV} (a directory holding the four MNIST files, used "
            f"offline), {paths.CACHE_DIR_ENV} (downloaded data and trained models; now "
            f"{paths.cache_dir()})."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {mnist_book.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data_parser = commands.add_parser(
        "data",
        help="locate (download if needed) and verify the MNIST files",
        description=(
            "Locate the four MNIST files (downloading them into the cache unless "
            f"{paths.DATA_DIR_ENV} is set), check each file's sha256 and count the images."
        ),
    )
    data_parser.set_defaults(run=_run_data, command_parser=data_parser)

    train_parser = commands.add_parser(
        "train",
        help="train a model (the site's recipe unless overridden)",
        description=(
            "Train a registered model on MNIST and evaluate it on the test set, with the "
            "site's recipe for that model unless overridden. A training already in the cache "
            "is loaded instead of repeated (--no-cache retrains)."
        ),
    )
    train_parser.add_argument(
        "name", metavar="NAME", choices=_ModelNames(), help="the model: %(choices)s"
    )
    train_parser.add_argument("--epochs", type=_positive_int, metavar="N", help="number of epochs")
    train_parser.add_argument("--batch-size", type=_positive_int, metavar="N", help="batch size")
    train_parser.add_argument(
        "--learning-rate", type=_positive_float, metavar="F", help="Adam's (initial) learning rate"
    )
    train_parser.add_argument(
        "--schedule", metavar="NAME", help="learning-rate schedule: constant or cosine"
    )
    train_parser.add_argument(
        "--warmup-epochs",
        type=float,
        metavar="F",
        help="epochs of linear learning-rate warm-up before the cosine decay",
    )
    train_parser.add_argument("--seed", type=int, metavar="N", help="random seed")
    train_parser.add_argument(
        "--validation-split",
        type=_fraction,
        metavar="F",
        help="fraction of the training images held out",
    )
    train_parser.add_argument(
        "--train-size", type=_positive_int, metavar="N", help="train on the first N images only"
    )
    train_parser.add_argument(
        "--steps-per-execution",
        type=_positive_int,
        metavar="N",
        help="training steps per call into TensorFlow (speed only; Keras fit)",
    )
    train_parser.add_argument(
        "--no-cache",
        dest="use_cache",
        action="store_false",
        help="retrain even if the cache holds this training, and do not cache the result",
    )
    distributed = train_parser.add_argument_group(
        "data-parallel training (tf.distribute)",
        "The batch size is then the global batch, split evenly over the replicas. A "
        "training interrupted mid-way resumes from its last completed epoch when run again.",
    )
    where = distributed.add_mutually_exclusive_group()
    where.add_argument(
        "--devices",
        type=_positive_int,
        metavar="N",
        help="MirroredStrategy over N local devices: the GPUs, or N logical CPU devices",
    )
    where.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="MultiWorkerMirroredStrategy over N worker processes on this machine",
    )
    where.add_argument(
        "--cluster",
        action="store_true",
        help="run as one worker of a cluster described by TF_CONFIG (or Slurm's srun)",
    )
    distributed.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="seconds to wait for a worker that is missing or silent before failing "
        "(default: mnist_book.strategies.DEFAULT_TIMEOUT)",
    )
    distributed.add_argument(
        "--save-model",
        type=Path,
        metavar="PATH",
        help="also save the trained model to PATH (.keras); under --cluster, every worker does",
    )
    train_parser.set_defaults(run=_run_train, command_parser=train_parser)

    results_parser = commands.add_parser(
        "results",
        help="the results of every model with the site's recipes (from the cache, never trains)",
        description=(
            "The test results of every model trained with the site's recipe, read from the "
            "trained-model cache. Nothing is trained: a model not in the cache is listed as "
            "not trained yet."
        ),
    )
    results_parser.add_argument("--json", action="store_true", help="print JSON instead")
    results_parser.set_defaults(run=_run_results, command_parser=results_parser)

    publish_parser = commands.add_parser(
        "publish-cache",
        help="write a finished build's pages, models and ONNX exports as a published cache",
        description=(
            "Write the published cache of the last build into DIRECTORY: one archive per "
            "executed page, trained model and ONNX export, named by its cache key, and "
            "manifest.json with their sizes and sha256 sums. Serve DIRECTORY as cache/ beside "
            f"the site, or point {paths.PUBLISHED_CACHE_DIR_ENV} (offline) or "
            f"{paths.PUBLISHED_CACHE_ENV} (its address) at it."
        ),
    )
    publish_parser.add_argument("directory", type=Path, help="where to write it (site/cache)")
    publish_parser.add_argument(
        "--pages",
        type=Path,
        default=None,
        help="the build's page cache (default: the plugin's, .cache/mnist-book/pages)",
    )
    publish_parser.set_defaults(run=_run_publish_cache, command_parser=publish_parser)

    plan_parser = commands.add_parser(
        "plan",
        help="every training the site's pages need: key, cached or not, expected minutes",
        description=(
            "List every training the site's pages make (mnist_book.plan): the model and how it "
            "differs from its recipe, its cache key, whether the local or the published cache "
            "holds it, and its expected minutes (its last measured run, from the model cache). "
            "Nothing is trained."
        ),
    )
    plan_parser.add_argument("--json", action="store_true", help="print JSON instead")
    plan_parser.add_argument(
        "--machines",
        type=_positive_int,
        metavar="N",
        help="also deal the trainings out to N machines (the shares of train-share I/N)",
    )
    plan_parser.set_defaults(run=_run_plan, command_parser=plan_parser)

    share_parser = commands.add_parser(
        "train-share",
        help="train one share of the plan into a directory (a cache for merge-cache)",
        description=(
            "Train the I-th of N shares of the site's plan (balanced by expected minutes), "
            "loading what the model cache holds, and write the share's model-cache entries into "
            "DIR as a published cache: an archive per entry and a sha256 manifest."
        ),
    )
    share_parser.add_argument("shard", metavar="I/N", help="which share, such as 1/4")
    share_parser.add_argument("--into", type=Path, required=True, metavar="DIR")
    share_parser.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="the plan (mnist-book plan --json --machines N) that dealt the shares; without "
        "it the shares are dealt here, from this machine's cache",
    )
    share_parser.set_defaults(run=_run_train_share, command_parser=share_parser)

    merge_parser = commands.add_parser(
        "merge-cache",
        help="merge share directories into one cache (verified)",
        description=(
            "Merge the directories that train-share wrote into one published cache in DIR: "
            "every archive is checked against its manifest (size, sha256) and for members that "
            "unpack inside their entry; an entry twice is kept once, and the log says which. "
            f"Point {paths.PUBLISHED_CACHE_DIR_ENV} at DIR to build from it, with "
            f"{paths.REQUIRE_CACHED_ENV}=1 to make sure nothing trains."
        ),
    )
    merge_parser.add_argument("sources", nargs="+", type=Path, metavar="SHARE")
    merge_parser.add_argument("--into", type=Path, required=True, metavar="DIR")
    merge_parser.set_defaults(run=_run_merge_cache, command_parser=merge_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mnist-book`` with `argv` (default: the command line); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from mnist_book.data import MNISTDataError

    try:
        return args.run(args)
    except MNISTDataError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mnist-book results --json | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run_data(args: argparse.Namespace) -> int:
    from mnist_book import data

    configured = paths.configured_data_dir()
    directory = data.locate_mnist()  # verifies every sha256, raising on the first mismatch
    source = f"from {paths.DATA_DIR_ENV}" if configured else "the cache"
    print(f"MNIST files in {directory} ({source}):")
    width = max(map(len, data.MNIST_FILES))
    counts = {}
    for name in data.MNIST_FILES:
        path = directory / name
        counts[name] = len(data.read_idx(path))
        print(f"  {name:<{width}}  sha256 ok  {path.stat().st_size:>10,} bytes")
    for split, label in (("train", "train"), ("t10k", "test")):
        images = counts[f"{split}-images-idx3-ubyte.gz"]
        labels = counts[f"{split}-labels-idx1-ubyte.gz"]
        print(f"{label}: {images:,} images, {labels:,} labels")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from mnist_book import training
    from mnist_book.config import TrainConfig, recipe

    # Every `TrainConfig` field is an option of its own (--batch-size for batch_size...).
    options = [field.name for field in fields(TrainConfig)]
    overrides = {name: getattr(args, name) for name in options if getattr(args, name) is not None}
    try:
        config = replace(recipe(args.name), **overrides)
    except ValueError as error:
        args.command_parser.error(str(error))  # exits with status 2
    if args.devices or args.workers or args.cluster:
        return _run_distributed(args, config)
    if args.save_model:
        args.command_parser.error("--save-model goes with --devices, --workers or --cluster")
    result = training.train(args.name, config, use_cache=args.use_cache)
    where = (
        "loaded from the cache" if result.from_cache else f"trained in {result.train_seconds:.1f} s"
    )
    print(
        f"{result.name}: test accuracy {result.test_accuracy:.2%}, test loss "
        f"{result.test_loss:.4f}, {result.params:,} parameters, {_epochs(config.epochs)}, {where}."
    )
    return 0


def _run_distributed(args: argparse.Namespace, config: Any) -> int:
    """`mnist-book train --devices/--workers/--cluster`: a data-parallel training."""
    from mnist_book import distributed, launch, strategies

    timeout = args.timeout or strategies.DEFAULT_TIMEOUT
    try:
        if args.workers:
            result = launch.train_on_local_workers(
                args.name,
                config,
                workers=args.workers,
                use_cache=args.use_cache,
                timeout=timeout,
            )
        else:
            strategy = (
                strategies.multi_worker_strategy(timeout=timeout)
                if args.cluster
                else strategies.local_strategy(args.devices)
            )
            result = distributed.train(args.name, config, strategy, use_cache=args.use_cache)
    except ValueError as error:  # a global batch that does not split over the replicas
        args.command_parser.error(str(error))
    except (strategies.ClusterError, launch.WorkerFailed) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    if args.save_model:
        result.model.save(args.save_model)
    fingerprints = set(result.replica_weights)
    same = (
        f"identical on all {len(result.replica_weights)} replicas"
        if len(fingerprints) == 1
        else "DIFFERENT across replicas"
    )
    print(
        f"{result.name} on {result.description}: test accuracy {result.test_accuracy:.2%}, "
        f"test loss {result.test_loss:.4f}, {_epochs(config.epochs)}, "
        f"{result.samples_per_second:,.0f} images/s; weights {same} "
        f"(sha256 {', '.join(sorted(fingerprints))})."
    )
    return 0 if len(fingerprints) == 1 else 1


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def _run_results(args: argparse.Namespace) -> int:
    from mnist_book import model_cache, training
    from mnist_book.models import MODEL_NAMES

    models_dir = model_cache.models_dir()
    records = {name: training.cached_record(name) for name in MODEL_NAMES}
    if args.json:
        models = [
            {"name": name, "trained": record is not None}
            | ({"result": record.to_json()} if record else {})
            for name, record in records.items()
        ]
        print(json.dumps({"cache_dir": str(models_dir), "models": models}, indent=2))
    else:
        print(_results_table(records, models_dir))
    return 0


def _run_publish_cache(args: argparse.Namespace) -> int:
    from mnist_book import published_cache
    from mnist_book.site import cache_publishing, page_cache

    pages = args.pages or Path(page_cache.DEFAULT_DIR)
    try:
        entries = cache_publishing.build_entries(pages)
    except cache_publishing.NothingToPublishError as error:
        args.command_parser.error(str(error))
    manifest = published_cache.publish(entries, args.directory)
    size = sum(entry.bytes for entry in manifest.entries.values())
    print(
        f"Published {len(manifest.entries)} entries ({size / 1e6:.1f} MB) to {args.directory}: "
        + ", ".join(sorted({name.split("/")[0] for name in manifest.entries}))
    )
    return 0


def _run_plan(args: argparse.Namespace) -> int:
    from mnist_book import plan

    made = plan.make_plan(args.machines or 1)
    if args.json:
        print(json.dumps(made.to_json(), indent=2))
        return 0
    width = max(len(entry.training) for entry in made.entries)
    print(f"{'training':<{width}}  {'key':<12}  {'cached':<9}  {'minutes':>7}  share")
    for entry in made.entries:
        minutes = "?" if entry.expected_minutes is None else f"{entry.expected_minutes:.1f}"
        print(
            f"{entry.training:<{width}}  {entry.key[:12]}  {entry.cached:<9}  {minutes:>7}  "
            f"{entry.share}/{made.machines}"
        )
    return 0


def _run_train_share(args: argparse.Namespace) -> int:
    from mnist_book import shards

    try:
        index, count = shards.parse_shard(args.shard)
    except shards.ShardError as error:
        args.command_parser.error(str(error))
    try:
        given = shards.read_plan(args.plan) if args.plan else None
        manifest = shards.train_share(index, count, args.into, given=given)
    except shards.ShardError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(f"Share {index}/{count}: {len(manifest.entries)} entries in {args.into}.")
    return 0


def _run_merge_cache(args: argparse.Namespace) -> int:
    from mnist_book import shards

    try:
        shards.merge(args.sources, args.into)
    except shards.ShardError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _results_table(records: dict[str, TrainingRecord | None], models_dir: Path) -> str:
    header = ("Model", "Test accuracy", "Test loss", "Parameters", "Epochs", "Training time")
    width = max(len(header[0]), *(len(name) for name in records))
    lines = [
        f"Models trained with the site's recipes, from the cache {models_dir}:",
        "",
        f"{header[0]:<{width}}  " + "  ".join(f"{title:>13}" for title in header[1:]),
    ]
    for name, record in records.items():
        if record is None:
            lines.append(f"{name:<{width}}  not trained yet — run `mnist-book train {name}`")
            continue
        cells = (
            f"{record.test_accuracy:.2%}",
            f"{record.test_loss:.4f}",
            f"{record.params:,}",
            str(record.epochs),
            f"{record.train_seconds:.0f} s",
        )
        lines.append(f"{name:<{width}}  " + "  ".join(f"{cell:>13}" for cell in cells))
    return "\n".join(lines)


if __name__ == "__main__":  # `python -m mnist_book.cli`, as the local workers run it
    sys.exit(main())
