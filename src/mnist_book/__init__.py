"""mnist-book: verified MNIST, Keras models, cached training, evaluation and plots.

The tutorial pages of the mnist-book site are built on this package's public API:

- `mnist_book.data`: load and verify MNIST.
- `mnist_book.models`: the models of the site, by name.
- `mnist_book.training`: train a model (cached on disk) and get its results.
- `mnist_book.evaluation`: predictions, confusion matrices, error analysis.
- `mnist_book.plotting`: the figures of the site.
"""

__version__ = "0.1.0"
