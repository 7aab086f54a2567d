"""Published MNIST results, as their authors reported them (none of them is run here).

The records chapter draws them beside the site's own models, so that a reader sees where a
model trained in minutes on a laptop's CPU stands against two decades of papers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedResult:
    """A test error on the 10,000 MNIST test images reported in a paper."""

    label: str
    """Short label for figures: authors and year."""
    error: float
    """Reported test error, as a fraction (0.0035 for 0.35 %)."""
    ensemble: bool
    """Whether the result is a committee of several models rather than one."""
    method: str
    """What was trained, in a few words."""
    source: str
    """Where it was published."""

    @property
    def accuracy(self) -> float:
        """The reported test accuracy, as a fraction."""
        return 1.0 - self.error


PUBLISHED: tuple[PublishedResult, ...] = (
    PublishedResult(
        "LeCun et al. 1998",
        0.0095,
        False,
        "LeNet-5 convnet, no distortions",
        "Gradient-based learning applied to document recognition, Proc. IEEE 86(11)",
    ),
    PublishedResult(
        "Simard et al. 2003",
        0.0040,
        False,
        "convnet with elastic distortions",
        "Best practices for convolutional neural networks applied to visual document "
        "analysis, ICDAR 2003",
    ),
    PublishedResult(
        "Ciresan et al. 2011",
        0.0035,
        False,
        "deep convnet with elastic and affine distortions",
        "Flexible, high performance convolutional neural networks for image "
        "classification, IJCAI 2011 (arXiv:1102.0183)",
    ),
    PublishedResult(
        "Ciresan et al. 2012",
        0.0023,
        True,
        "committee of 35 convnets",
        "Multi-column deep neural networks for image classification, CVPR 2012 (arXiv:1202.2745)",
    ),
    PublishedResult(
        "Wan et al. 2013",
        0.0021,
        True,
        "DropConnect, committee of 5 networks",
        "Regularization of neural networks using DropConnect, ICML 2013",
    ),
    PublishedResult(
        "Byerly et al. 2020",
        0.0017,
        False,
        "convnet with homogeneous vector capsules",
        "No routing needed between capsules, Neurocomputing 463 (arXiv:2001.09136)",
    ),
    PublishedResult(
        "Byerly et al. 2020 (ensemble)",
        0.0013,
        True,
        "ensemble of capsule convnets",
        "No routing needed between capsules, Neurocomputing 463 (arXiv:2001.09136)",
    ),
)
"""Landmark published MNIST results, oldest first."""
