# %% [markdown]
# # Training on several devices and machines
#
# > **On this page** you will train the [convnet](convolutional-network.py) data-parallel
# > with `tf.distribute`: on two devices of one process (`MirroredStrategy`), then on two
# > worker processes that talk over the network (`MultiWorkerMirroredStrategy`), check that
# > every copy of the model ends with the same weights, and measure what it gains on the
# > machine that built this page, and what limits it. Model: `convnet`.
#
# A strategy fixes the devices TensorFlow uses, and TensorFlow fixes its devices the first
# time it runs anything: so the strategy comes first. On a machine with GPUs,
# `local_strategy` takes all of them; on one without (like the machine that built this
# page), it splits the CPU into two *logical* devices, which shows data parallelism at
# work but shares the same cores.

# %%
import os
from dataclasses import replace

from IPython.display import Markdown

from mnist_book import distributed, exercises, launch, plotting, strategies
from mnist_book.config import recipe
from mnist_book.training import train

strategy = strategies.local_strategy(devices=2)
devices = strategies.distribution_of(strategy).devices
Markdown(f"{strategy.num_replicas_in_sync} replicas: `{'`, `'.join(devices)}`")

# %% [markdown]
# ## Data parallelism
#
# Every **replica** (a GPU, a logical device, a worker on another machine) holds a full copy
# of the model. Each training step takes a **global batch** of images, here 128, and gives
# each of the *N* replicas its own **per-replica batch** of 128 / *N*. Every replica runs the
# model forward and backward on its share and gets gradients; an **all-reduce** then sums
# the gradients of all replicas and hands the sum to every replica, and each applies the
# same update to its copy. The copies start equal and receive equal updates, so they stay
# equal: at the end, any replica's copy is *the* model.
#
# The sum is the right gradient only if each replica's loss is divided by the **global**
# batch size, not by its own. Each replica adds up the losses of its 64 images and divides
# by 128; the all-reduce adds the two results, which gives the sum of all 128 losses
# divided by 128: the mean loss over the whole global batch, exactly what one process
# computes. Dividing by its own 64 instead, each replica's gradient would be a mean, and
# the all-reduce would add *N* means: a gradient *N* times too large.
# `tf.nn.compute_average_loss` does that division.
#
# Keeping the global batch at 128 keeps the training what it was on one device: the same
# number of steps per epoch, the same learning rate. Growing it with the replicas (64 per
# replica on 8 GPUs: 512) takes fewer, larger steps, and the **linear scaling rule** of
# [Goyal et al. (2017)](https://arxiv.org/abs/1706.02677) scales the learning rate with
# it (with a warm-up for large factors):

# %%
config = replace(recipe("convnet"), epochs=2)
larger = distributed.scale_for_replicas(config, replicas=8, per_replica=64)
Markdown(
    f"Here: global batch **{config.batch_size}**, learning rate "
    f"**{config.learning_rate:g}**, for {config.epochs} epochs. On 8 replicas "
    f"of 64 images the rule gives a global batch of {larger.batch_size} and "
    f"a learning rate of {larger.learning_rate:g}."
)

# %% [markdown]
# ## One process, one replica: the baseline
#
# Keras 3's `model.fit` does not work under `MultiWorkerMirroredStrategy`
# ([keras-team/keras#20585](https://github.com/keras-team/keras/issues/20585)), so
# `distributed.train` runs its own training step: `tf.GradientTape` for the gradients,
# `strategy.run` to run the step on every replica, the loss averaged over the global batch,
# and `optimizer.apply_gradients`, which all-reduces the gradients before applying them.
# The same loop on one replica is the fair baseline. Like Keras's `steps_per_execution`, it
# runs 32 steps per call of its compiled function, so that Python is not in the way of every
# step.

# %% tags=["exclusive"]
one = distributed.train("convnet", config, strategies.one_device_strategy())

# %% [markdown]
# ## Two devices in one process
#
# `MirroredStrategy` keeps one copy of the model per device of this process and all-reduces
# the gradients in memory.

# %% tags=["exclusive"]
mirrored = distributed.train("convnet", config, strategy)

# %% [markdown]
# ## Two worker processes
#
# `MultiWorkerMirroredStrategy` does the same across processes, possibly on other machines.
# Each worker is its own process, with its own TensorFlow, and finds the others through
# `TF_CONFIG`, a JSON description of the cluster: the address of every worker and which one
# it is. `launch.train_on_local_workers` starts two workers on free ports of `127.0.0.1`,
# each running exactly what a worker on a real machine runs
# (`mnist-book train convnet --cluster`; the [README](https://github.com/mnist-book/mnist-book#several-machines)
# shows it on two hosts). Each reads the same shuffled epoch and keeps its own shard of
# every step with `tf.data.Dataset.shard`. Worker 0, the *chief*, prints these lines:

# %% tags=["exclusive"]
workers = launch.train_on_local_workers("convnet", config, workers=2)

# %% [markdown]
# ## The copies are identical
#
# At the end of each training, every replica's own copy of the weights was hashed
# (SHA-256) and the hashes were gathered from all workers:

# %%
runs = {"one process": one, "2 devices": mirrored, "2 workers": workers}
Markdown(
    "\n".join(
        f"- **{label}**: "
        + ", ".join(f"`{digest[:12]}…`" for digest in run.replica_weights)
        for label, run in runs.items()
    )
)

# %% tags=["remove-input"]
Markdown(distributed.replica_agreement(runs))

# %% [markdown]
# ## Accuracy and throughput
#
# The same two epochs (global batch 128) on one replica, two devices and two workers, and
# for reference Keras's own `model.fit` on the same two epochs, the loop of the
# [convnet's page](convolutional-network.py):

# %% tags=["exclusive"]
fit = train("convnet", config)

# %%
table = distributed.comparison({**runs, "model.fit": fit})
table.style.format(
    {
        "test accuracy": "{:.2%}",
        "images/s": "{:,.0f}",
        "speed-up": "{:.2f}",
        "efficiency": "{:.0%}",
    }
)

# %% tags=["remove-input"]
spreads = ["2 devices", "2 workers"]
Markdown(distributed.accuracy_summary(table, "one process", spreads))

# %% [markdown]
# Each set-up's training images per second, and its speed-up over one process:

# %%
plotting.throughput_comparison(
    list(table.index), list(table["images/s"]), list(table["speed-up"])
)

# %% tags=["remove-input"]
devices = mirrored.distribution.devices
gpus = [device for device in devices if "GPU" in device]
Markdown(
    f"This page ran on `{'` and `'.join(devices)}` "
    f"({'GPUs' if gpus else 'logical CPU devices, no GPU'}), on a machine "
    f"with {os.cpu_count()} CPU cores. "
    + distributed.scaling_summary(table, "one process", spreads, "model.fit")
)

# %% [markdown]
# ### What limits the speed-up on one machine's cores
#
# - **There may be nothing to gain.** One TensorFlow process already uses every core: its
#   convolutions run on a pool of threads. Two workers on the same machine share its cores,
#   so the arithmetic per second stays the same; so do two logical devices, which share one
#   pool of threads.
# - **There may be something to lose.** Every step now ends with an all-reduce of the
#   gradients (one number per parameter) between processes, over gRPC through the loopback,
#   and every replica waits for the slowest one before the next step. The less arithmetic
#   a step holds, the larger the share of that overhead.

# %% tags=["remove-input"]
Markdown(
    distributed.step_times(
        table, "one process", "2 workers", config.batch_size, one.params
    )
)

# %% [markdown]
# The figures above are this build's own, from two epochs that include TensorFlow's
# start-up (tracing) and the validation passes, each measured with the machine to itself;
# `scripts/bench_distributed.py` measures the same set-ups in fresh processes on a second
# epoch and reports the load average beside each figure.
#
# ### What does scale
#
# Data parallelism pays when the replicas add compute, not just divide it: separate GPUs or
# separate hosts, with enough work per step that the all-reduce is small beside it (large
# models and per-replica batches), and a fast link (NVLink between the GPUs of one host,
# InfiniBand or fast Ethernet between hosts). At that scale,
# [Goyal et al.](https://arxiv.org/abs/1706.02677) trained ResNet-50 on ImageNet on 256
# GPUs with about 90% scaling efficiency from 8 to 256 GPUs, and
# [Horovod](https://arxiv.org/abs/1802.05799) reports 88% for Inception V3 and ResNet-101
# on 128 GPUs. For MNIST on a laptop, one process is the right tool; this page is about the
# mechanics, which are the same at any scale.
#
# ## When a worker fails
#
# A cluster has faults, and a worker that dies must not leave the others waiting for ever.
# Workers join through TensorFlow's coordination service, which `multi_worker_strategy`
# configures with a deadline (`timeout`, 60 s by default): a worker that never starts makes
# the others fail at start-up, and one that stops sending heartbeats (within 10 s) or
# collective operations that time out make the survivors fail with an error naming what
# was lost. The local launcher stops every other worker as soon as one fails, and no worker
# outlives it, even if the process that started them is killed. The chief saves a
# checkpoint after every completed epoch, beside the model cache: starting the same training
# again resumes from the last completed epoch and ends with the same weights as a training
# that was never interrupted. The tests of `mnist_book` kill workers to prove each of these.

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: Four workers' learning rate
#
# Four workers each take 64 images a step. By the linear scaling rule, what learning rate
# should they use, starting from the convnet's 0.001 for a global batch of 128?

# %%
exercises.check("distributed-training", 1, ...)

# %% tags=["solution"]
rate = 1e-3 * (4 * 64) / 128  # the rate grows with the global batch
(
    rate,
    distributed.scale_for_replicas(
        recipe("convnet"), replicas=4, per_replica=64
    ).learning_rate,
)

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("distributed-training", 1, rate))

# %% [markdown]
# ### Exercise 2: Steps with two workers
#
# With two workers and the convnet's global batch of 128, how many optimiser steps does one
# epoch take?
#
# <details><summary>Hint</summary>
# Each step's global batch is shared out among the workers.
# </details>

# %%
exercises.check("distributed-training", 2, ...)

# %% tags=["solution"]
convnet_recipe = recipe("convnet")
steps = convnet_recipe.fitted_images() // convnet_recipe.batch_size
steps

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("distributed-training", 2, steps))

# %% [markdown]
# **Back:** [error analysis and comparison](error-analysis.py) puts every model of the site
# side by side.
