"""What tutorials use from mnist_book, and the navigation's titles."""

from mnist_book.site import links


def test_api_used_finds_module_and_direct_imports():
    source = """
from mnist_book import data, plotting
from mnist_book.training import train as fit
import numpy as np

(x, y), _ = data.load_mnist()
fit("convnet")
plotting.training_curves
np.zeros(3)
"""
    assert links.api_used(source) == [
        "mnist_book.data.load_mnist",
        "mnist_book.plotting.training_curves",
        "mnist_book.training.train",
    ]


def test_nav_titles_in_order_with_their_titles():
    nav = [
        {"Home": "index.md"},
        {"Tutorials": [{"The data": "mnist-data.py"}, "bare.py"]},
        {"API": ["reference/index.md"]},
    ]
    assert links.nav_titles(nav) == {
        "index.md": "Home",
        "mnist-data.py": "The data",
        "bare.py": "bare.py",
        "reference/index.md": "reference/index.md",
    }


def test_reference_page_of_an_object():
    assert links.reference_page("mnist_book.plotting.training_curves") == "reference/plotting.md"
