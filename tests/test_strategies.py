"""Strategies and clusters: where a data-parallel training runs, and how it is described."""

import pytest

from mnist_book import launch, strategies


def test_a_distribution_describes_itself_in_words():
    two_workers = strategies.Distribution("multi_worker", 2, 2, ("/device:CPU:0",))
    two_devices = strategies.Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1"))
    one = strategies.Distribution("one_device", 1, 1, ("/device:GPU:0",))
    assert two_workers.description == "2 workers, 2 replicas (CPU)"
    assert two_devices.description == "2 devices (CPU)"
    assert one.description == "one device (GPU)"


def test_tf_config_that_does_not_describe_this_worker_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", launch.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 2))
    with pytest.raises(strategies.ClusterError, match="TF_CONFIG does not describe this worker"):
        strategies.cluster_resolver()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(strategies.ClusterError, match="expected"):
        strategies.cluster_resolver()
    monkeypatch.delenv("TF_CONFIG")
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    with pytest.raises(strategies.ClusterError, match="set TF_CONFIG on every worker"):
        strategies.cluster_resolver()


def test_slurm_tasks_become_workers(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    slurm = {
        "SLURM_PROCID": "1",
        "SLURM_STEP_NUM_TASKS": "2",
        "SLURM_STEP_NODELIST": "node[07-08]",
        "SLURM_STEP_TASKS_PER_NODE": "1(x2)",
    }
    for name, value in slurm.items():
        monkeypatch.setenv(name, value)
    resolver = strategies.cluster_resolver()
    assert resolver.cluster_spec().as_dict() == {"worker": ["node07:8888", "node08:8888"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)
