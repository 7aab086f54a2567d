"""Run a plain Keras listing as a learner would: a fresh interpreter, Keras and NumPy alone.

MNIST comes from a slice of the real files, through ``keras.datasets.mnist.load_data``
(which would download it), so the listing runs unchanged and offline.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from mnist_book import data
from mnist_book._keras import keras

RUNNER = textwrap.dedent(
    """
    import sys
    sys.modules["mnist_book"] = None  # the listing must need Keras and NumPy alone
    import keras
    import numpy as np

    arrays = np.load("slice.npz")
    keras.datasets.mnist.load_data = lambda: (
        (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    )
    exec(compile(open("program.py").read(), "program.py", "exec"))
    """
)


def run_listing(directory: Path, source: str, train: int = 600, test: int = 200) -> str:
    """Run `source` in `directory` in a fresh interpreter on the first `train` and `test`
    MNIST images; ``my_digit.png`` there is the first test digit drawn dark on light.

    Returns what it printed; fails the test with its stderr if it raised.
    """
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    np.savez(
        directory / "slice.npz",
        x_train=x_train[:train],
        y_train=y_train[:train],
        x_test=x_test[:test],
        y_test=y_test[:test],
    )
    keras.utils.save_img(directory / "my_digit.png", 255 - x_test[0][..., None], scale=False)
    (directory / "program.py").write_text(source)
    (directory / "runner.py").write_text(RUNNER)
    finished = subprocess.run(
        [sys.executable, "runner.py"], cwd=directory, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, f"{source}\n\n{finished.stderr[-3000:]}"
    return finished.stdout
