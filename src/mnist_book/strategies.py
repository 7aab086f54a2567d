"""Where a data-parallel training runs: `tf.distribute` strategies and the workers' cluster.

- `local_strategy`: `MirroredStrategy` over the local devices (every GPU, or N logical CPU
  devices on a machine without one); `one_device_strategy`: the same loop on one replica;
- `multi_worker_strategy`: `MultiWorkerMirroredStrategy` over the workers that
  `cluster_resolver` finds in ``TF_CONFIG`` (as Kubernetes' TFJob sets it) or Slurm, with
  bounded waits: a worker that never joins or stops answering becomes a `ClusterError`;
- `distribution_of`: a strategy as a `mnist_book.results.Distribution` (kind, workers,
  replicas, devices), which is part of a distributed training's cache key and result.

`mnist_book.distributed.train` trains under any of them.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from mnist_book._keras import tensorflow as tf
from mnist_book.results import Distribution

DEFAULT_TIMEOUT = 60.0
"""Seconds a worker waits for a peer that never starts or stops answering, then fails."""

SLURM_PORT_BASE = 8888
"""Under Slurm, the first task of each node listens on this port, the next on the next."""


class ClusterError(RuntimeError):
    """The cluster is misdescribed, or a worker lost its peers (crashed, never started)."""


def split_cpu(devices: int) -> list[str]:
    """Split this process's CPU into `devices` logical devices; their names.

    TensorFlow fixes its devices when it first runs anything, so this must come first in a
    process (the first cell of a notebook). Asking again for the same split is harmless.
    """
    if devices < 1:
        raise ValueError(f"devices must be positive, got {devices}.")
    (cpu,) = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices
        )
    except RuntimeError:  # TensorFlow has started: fine if it has the devices asked for
        have = len(tf.config.list_logical_devices("CPU"))
        if have != devices:
            raise ClusterError(
                f"TensorFlow has already started in this process with {have} CPU device(s); "
                f"{devices} must be set up before anything runs TensorFlow. Create the "
                "strategy first (the first cell of a notebook, or a fresh process)."
            ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def local_strategy(devices: int | None = None) -> tf.distribute.Strategy:
    """`MirroredStrategy` over this machine's GPUs, or over logical CPU devices.

    With GPUs visible it uses all of them (or the first `devices`); without, it splits the
    CPU into `devices` logical devices (default 2), which shows data parallelism at work
    but shares the same cores, so it trains no faster.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if devices is not None and devices > len(gpus):
            raise ClusterError(f"{devices} devices asked for, but only {len(gpus)} GPU(s).")
        names = [f"/gpu:{index}" for index in range(devices or len(gpus))]
        with without_info_logs():
            return tf.distribute.MirroredStrategy(names)
    names = split_cpu(devices or 2)
    with without_info_logs():
        return tf.distribute.MirroredStrategy(
            names, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )


@contextmanager
def without_info_logs() -> Iterator[None]:
    """TensorFlow's Python INFO lines off while it lasts (a notebook shows them as output)."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def one_device_strategy() -> tf.distribute.Strategy:
    """The first GPU, else the CPU, as a strategy: the same loop, on one replica."""
    device = "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0"
    return tf.distribute.OneDeviceStrategy(device)


def cluster_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """The cluster this process is a worker of, from ``TF_CONFIG`` or else from Slurm.

    ``TF_CONFIG`` is JSON: ``{"cluster": {"worker": ["host1:port", ...]}, "task": {"type":
    "worker", "index": i}}``, as Kubeflow's TFJob sets it on Kubernetes. Under ``srun``,
    Slurm's variables describe one worker per task, on ports from 8888.
    """
    resolvers = tf.distribute.cluster_resolver
    if "TF_CONFIG" in os.environ:
        try:
            config = json.loads(os.environ["TF_CONFIG"])
            workers = config["cluster"]["worker"]
            task = config["task"]
            if task["type"] != "worker" or not 0 <= int(task["index"]) < len(workers):
                raise ValueError(f"task {task} is not one of the {len(workers)} workers")
        except (ValueError, KeyError, TypeError) as error:
            raise ClusterError(
                f"TF_CONFIG does not describe this worker ({error}); expected "
                '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
                '"index": N}}.'
            ) from None
        return resolvers.TFConfigClusterResolver()
    if "SLURM_PROCID" in os.environ:
        return _slurm_resolver()
    raise ClusterError(
        "No cluster described: set TF_CONFIG on every worker (see the README), or run "
        "under Slurm's srun."
    )


def _slurm_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """One worker per task of the Slurm job step, on ports from `SLURM_PORT_BASE` per node."""
    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:  # TensorFlow's resolver, which also shares the GPUs of a node among its tasks
        return tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=SLURM_PORT_BASE, gpus_per_node=gpus
        )
    # TensorFlow's resolver places tasks along GPUs and finds none on a node without one.
    from tensorflow.python.distribute.cluster_resolver import slurm_cluster_resolver as slurm

    try:
        hosts = slurm.expand_hostlist(os.environ["SLURM_STEP_NODELIST"])
        counts = slurm.expand_tasks_per_node(os.environ["SLURM_STEP_TASKS_PER_NODE"])
        rank = int(os.environ["SLURM_PROCID"])
    except (KeyError, ValueError) as error:
        raise ClusterError(
            f"Slurm's variables do not describe the job step ({error}): run the workers "
            "with srun, one task per worker."
        ) from None
    workers = [
        f"{host}:{SLURM_PORT_BASE + offset}"
        for host, count in sorted(zip(hosts, counts, strict=True))
        for offset in range(count)
    ]
    spec = tf.train.ClusterSpec({"worker": workers})
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        spec, task_type="worker", task_id=rank, rpc_layer="grpc"
    )


def multi_worker_strategy(
    resolver: tf.distribute.cluster_resolver.ClusterResolver | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> tf.distribute.Strategy:
    """`MultiWorkerMirroredStrategy` over the workers of `resolver` (`cluster_resolver()`).

    Every worker runs the same program. Creating the strategy waits until every worker has
    joined; a worker that has not joined within `timeout` seconds, or that stops answering
    later, makes the others fail with a `ClusterError` (from `train`) instead of hanging.
    Call it before anything else runs TensorFlow in the process.
    """
    resolver = resolver or cluster_resolver()
    _configure_coordination(resolver, timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver, communication_options=options
        )
    except tf.errors.OpError as error:
        raise lost_peers(resolver, error) from None


def _configure_coordination(
    resolver: tf.distribute.cluster_resolver.ClusterResolver, timeout: float
) -> None:
    """Bound the waits of TensorFlow's coordination service, which the strategy would
    otherwise configure with its defaults: workers that have not all joined within
    `timeout` fail at start-up (instead of waiting for ever), a worker that stops sending
    heartbeats for 10 s is reported to the others as dead."""
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    spec = resolver.cluster_spec()
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(spec),
        cluster_register_timeout_in_ms=int(timeout * 1000),
        heartbeat_timeout_in_ms=int(min(timeout, 10) * 1000),
        shutdown_barrier_timeout_in_ms=int(timeout * 1000),
    )
    # Joining is a barrier: every worker waits (at most `timeout`) for all the others.
    context.context().coordination_service.cluster_register_with_barrier = True


def distribution_of(strategy: tf.distribute.Strategy) -> Distribution:
    """The `Distribution` of `strategy`: its kind, workers, replicas and local devices."""
    extended = strategy.extended
    devices = tuple(
        tf.DeviceSpec.from_string(device).replace(job=None, replica=None, task=None).to_string()
        for device in extended.worker_devices
    )
    resolver = strategy.cluster_resolver
    workers = 1
    if resolver is not None and resolver.task_type:
        jobs = resolver.cluster_spec().as_dict()
        workers = len(jobs.get("chief", [])) + len(jobs.get("worker", []))
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        kind = "multi_worker"
    elif isinstance(strategy, tf.distribute.MirroredStrategy):
        kind = "mirrored"
    else:
        kind = "one_device"
    return Distribution(kind, workers, strategy.num_replicas_in_sync, devices)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process is the worker that reports, saves and checkpoints (worker 0)."""
    resolver = strategy.cluster_resolver
    return resolver is None or not resolver.task_type or resolver.task_id == 0


def lost_peers(
    resolver: tf.distribute.cluster_resolver.ClusterResolver | None, error: Exception
) -> ClusterError:
    """A clear error for a collective that failed: a peer crashed, never started, or hung."""
    where, peers = "", ""
    text = str(error)
    if resolver is not None and resolver.task_type:
        workers = len(resolver.cluster_spec().as_dict().get("worker", []))
        where = f"Worker {resolver.task_id} of {workers}: "
        named = {int(task) for task in re.findall(r"/job:worker/replica:\d+/task:(\d+)", text)}
        if others := sorted(named - {resolver.task_id}):
            peers = f" (worker {', '.join(map(str, others))})"
    return ClusterError(
        f"{where}lost contact with the other workers{peers}: {type(error).__name__}. A worker "
        "crashed, was stopped, or never started within the timeout: look at its output. "
        "Starting every worker again resumes from the last completed epoch."
    )
