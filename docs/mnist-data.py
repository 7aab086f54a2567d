# %% [markdown]
# # The data: MNIST
#
# > **On this page** you will load MNIST, look at its digits, check how balanced its ten
# > classes are, and see why and how the pixels are scaled to [0, 1] before any training.
# > It trains no model. Uses [`mnist_book.data`](https://github.com/mnist-book/mnist-book/blob/main/src/mnist_book/data.py)
# > and `mnist_book.plotting`.
#
# MNIST is the "hello world" of image recognition: 70,000 handwritten digits, 0 to 9, each a
# 28x28 grayscale image. Yann LeCun, Corinna Cortes and Christopher Burges built it in the
# 1990s from two NIST collections, one written by Census Bureau employees and one by high
# school students, so that the training and test sets mix both kinds of writers. Every digit
# was size-normalised into a 20x20 box and centred by its centre of mass in a 28x28 frame.
#
# The dataset comes as four gzip-compressed files in the simple IDX format: images and labels,
# for 60,000 training and 10,000 test examples. `load_mnist` finds them (downloading them once
# from the usual mirrors if needed), checks each file against its published SHA-256 sum, and
# returns NumPy arrays exactly as `keras.datasets.mnist.load_data()` would.

# %%
import pandas as pd
from IPython.display import Markdown

from mnist_book import conclusions, data, exercises, plotting

(x_train, y_train), (x_test, y_test) = data.load_mnist()
print(
    f"training images {x_train.shape} {x_train.dtype}, labels {y_train.shape}"
)
print(f"test images     {x_test.shape} {x_test.dtype}, labels {y_test.shape}")

# %% [markdown]
# ## What the digits look like
#
# The first 32 training images with their labels. The handwriting varies a lot: slanted ones,
# open and closed fours, sevens with and without a bar.

# %%
plotting.sample_grid(x_train, y_train, rows=4, cols=8)

# %% [markdown]
# ## How balanced the classes are
#
# A classifier trained on skewed classes can score well by favouring the common ones. How
# many of each digit the two sets hold:

# %%
plotting.class_distribution(y_train, y_test)

# %% tags=["remove-input"]
counts = data.class_counts(y_train)
Markdown(
    conclusions.checked(
        "MNIST is close to balanced.",
        counts.max() / counts.min() < 1.5,
        largest_over_smallest=counts.max() / counts.min(),
    )
    + f" The most common training digit is **{counts.argmax()}** "
    f"({counts.max():,} images), the rarest **{counts.argmin()}** "
    f"({counts.min():,}): a ratio of {counts.max() / counts.min():.2f}. Always "
    "guessing the most common digit would be right on only "
    f"{(y_test == counts.argmax()).mean():.1%} of the test set: that is the "
    "bar any model has to clear."
)

# %% [markdown]
# ## Pixel statistics
#
# Each pixel is an unsigned 8-bit integer: 0 is the blank background, 255 full ink:

# %%
stats = data.pixel_statistics(x_train).to_frame()
counts = pd.IndexSlice[["pixels", "min", "max"], :]
stats.style.format("{:.3f}").format("{:,.0f}", subset=counts)

# %% tags=["remove-input"]
blank = (x_train == 0).mean(axis=(1, 2))
Markdown(
    conclusions.checked(
        f"Most of every image is background: {blank.mean():.0%} of the pixels "
        "on "
        f"average, and at least {blank.min():.0%} of any one image.",
        blank.min() > 0.5,
        least_background=blank.min(),
    )
)

# %%
plotting.pixel_histogram(x_train)

# %% [markdown]
# ## Scaling pixels to [0, 1]
#
# Networks learn by gradient descent, and the size of each update depends on the size of the
# inputs. With raw values up to 255, the first layer's weighted sums are in the thousands at
# the start of training, activations saturate and the optimiser's default step sizes no
# longer fit. Dividing by 255 maps every pixel into [0, 1] without changing the picture, and
# converting to `float32` avoids integer arithmetic surprises (in `uint8`, 200 + 100 is 44).
#
# `scale_pixels` does exactly that, and refuses anything that is not `uint8`, so it can never
# be applied twice by mistake:

# %%
scaled = data.scale_pixels(x_train)
print(f"before: {x_train.dtype}, {x_train.min()}..{x_train.max()}")
print(
    f"after:  {scaled.dtype}, {scaled.min()}..{scaled.max()}, mean "
    f"{scaled.mean():.4f}"
)

# %% [markdown]
# The models on the following pages all see these scaled pixels; `mnist_book.models` also
# reshapes them to each model's input: 784 numbers for the dense models, a 28x28 image for the
# `Flatten` model, and a 28x28x1 image for the convnet.

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: Count the fives
#
# How many images of the training set show the digit 5? The labels are in `y_train`.
#
# <details><summary>Hint</summary>
# <code>y_train == 5</code> is an array of True and False; summing it counts the Trues.
# </details>

# %%
exercises.check("mnist-data", 1, ...)

# %% tags=["solution"]
fives = int((y_train == 5).sum())
fives

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("mnist-data", 1, fives))

# %% [markdown]
# ### Exercise 2: How much of a digit is ink
#
# What share of all the training images' pixels have any ink, a value above 0? Give it as a
# fraction: 0.25 for a quarter.

# %%
exercises.check("mnist-data", 2, ...)

# %% tags=["solution"]
ink = float((x_train > 0).mean())
ink

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("mnist-data", 2, ink))

# %% [markdown]
# **Next:** [a single dense layer](single-layer.py), the smallest model that reads digits.
