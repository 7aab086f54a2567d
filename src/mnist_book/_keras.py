"""Import Keras without TensorFlow's start-up log lines.

Importing TensorFlow 2.21 writes INFO lines (oneDNN, CPU features, an absl preamble) straight
to file descriptor 2, where no Python-level setting reaches them, and a Jupyter kernel shows
them to the reader as red stderr; so does CUDA's first probe for a GPU on a machine without
one. Both happen here, with descriptor 2 pointed at a temporary file; if the import fails,
what it wrote is replayed so nothing that explains the failure is lost.

It also turns on TensorFlow's oneDNN kernels, which TensorFlow enables by itself only on CPUs
with AVX-512: on the AVX2 machines here they make a convnet's epoch about a fifth faster and
its inference twice as fast (`make profile`). Set ``TF_ENABLE_ONEDNN_OPTS=0`` to compare.
The kernels move results in the last digits, so `ONEDNN_OPTS`, the setting this process runs
with, is part of every model's cache key.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType


def _import_quietly() -> tuple[ModuleType, ModuleType]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ INFO/WARNING lines
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "keras" in sys.modules:
        import keras
        import tensorflow

        return keras, tensorflow
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow

            # Looking for GPUs loads CUDA, which on a machine without a GPU logs "failed call
            # to cuInit" as an error, once per process: let it happen here, out of sight.
            tensorflow.config.list_physical_devices("GPU")
        except BaseException:
            os.dup2(saved_stderr, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
    return keras, tensorflow


keras, tensorflow = _import_quietly()
ONEDNN_OPTS = os.environ["TF_ENABLE_ONEDNN_OPTS"]
"""`TF_ENABLE_ONEDNN_OPTS` as this process runs TensorFlow: "1" unless it was set otherwise."""
