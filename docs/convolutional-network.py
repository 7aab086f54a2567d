# %% [markdown]
# # A convnet
#
# > **On this page** you will train the small convolutional network from the
# > [keras.io MNIST example](https://keras.io/examples/vision/mnist_convnet/), see why
# > convolutions suit images, and compare it with the dense networks. Model: `convnet`.

# %%
import numpy as np
from IPython.display import Markdown

from mnist_book import (
    conclusions,
    data,
    evaluation,
    exercises,
    inspection,
    inspection_plots,
    plotting,
)
from mnist_book.conclusions import ErrorChange
from mnist_book.keras_program import program, show
from mnist_book.models import build_model, layer_table
from mnist_book.training import train, trained

(x_train, y_train), (x_test, y_test) = data.load_mnist()
listing = program("convnet", use=True)

# %% [markdown]
# ## Why convolutions
#
# The dense networks see an image as 784 unrelated numbers: shift a digit by two pixels and,
# to them, it is a different input. A **convolution** slides small 3x3 filters over the
# image, so the same stroke detector is applied at every position and neighbouring pixels
# are read together. **Max pooling** then keeps the strongest response in each 2x2 window,
# halving the resolution and making the features tolerant of small shifts. A second
# convolution combines strokes into larger shapes. **Dropout** randomly silences half of the
# features during training so that the final layer cannot lean on any single one, and the
# output layer uses **softmax**, so the ten scores form a probability distribution (the dense
# models' sigmoid scores did not: see [the single layer](single-layer.py)).
#
# One filter at one position, on a training digit. This hand-made filter weighs the
# column on its right +1 and the column on its left -1: it answers strongly where ink
# begins or ends from left to right, positive on a stroke's left edge, negative on its
# right edge. The training learns 32 such filters of its own.

# %%
edge = np.array([[-1.0, 0.0, 1.0]] * 3)
digit = x_train[0] / 255
inspection_plots.convolution_plot(digit, edge)

# %% tags=["remove-input"]
same = np.allclose(
    inspection.convolve(digit, edge),
    inspection.keras_convolve(digit, edge),
    atol=1e-5,
)
Markdown(
    conclusions.checked(
        "A `layers.Conv2D` given these nine weights (and a bias of 0) computes "
        "exactly this map.",
        same,
        same_map=same,
    )
)

# %% [markdown]
# A convolution expects images with a *channel* axis (1 for grey, 3 for colour), so the
# images are shaped (28, 28, 1). The model, as on keras.io:

# %% tags=["remove-input"]
show(f"{listing.data}\n\n{listing.model}")

# %%
model = build_model("convnet")
layer_table(model)

# %% tags=["remove-input"]
hidden_params = build_model("hidden_layer").count_params()
ratio = model.count_params() / hidden_params
Markdown(
    conclusions.checked(
        f"**{model.count_params():,} parameters**, {ratio:.0%} of the "
        "hidden-layer "
        f"network's {hidden_params:,}: a filter's weights are shared across "
        "the whole image.",
        ratio < 1,
        convnet=model.count_params(),
        hidden_layer=hidden_params,
    )
)

# %% [markdown]
# ## Training
#
# As on keras.io: Adam, batches of 128 and 10% of the training images held out for
# validation, for 15 epochs:

# %% tags=["remove-input"]
show(f"{listing.compile}\n\n{listing.fit}")

# %%
result = train("convnet")

# %%
plotting.training_curves(result.history, title="convnet")

# %% tags=["remove-input"]
Markdown(
    conclusions.learning_curves(result.history, result.config, dropout=True)
)

# %% [markdown]
# ## On the test set

# %% tags=["remove-input"]
show(listing.evaluate)

# %%
scores = result.evaluate(x_test, y_test)
dense_errors = {
    name: trained(name).evaluate(x_test, y_test).misclassified.size
    for name in ["single_layer", "hidden_layer", "flatten"]
}
hidden_scores = trained("hidden_layer").evaluate(x_test, y_test)

# %% tags=["remove-input"]
Markdown(
    f"The convnet classifies **{scores.accuracy:.2%}** of the test digits "
    f"correctly: {scores.misclassified.size} mistakes in "
    f"{scores.labels.size:,} images (keras.io reports 99.22% for the same "
    "architecture): "
    + conclusions.checked(
        "fewer than any dense network of the previous pages.",
        scores.misclassified.size < min(dense_errors.values()),
        convnet=scores.misclassified.size,
        **dense_errors,
    )
    + " "
    + conclusions.error_change(
        ErrorChange.between(hidden_scores, scores),
        "the hidden layer",
        "the convnet",
    )
)

# %% tags=["remove-input"]
Markdown(conclusions.score_sums(scores.probabilities.sum(axis=1)))

# %%
plotting.confusion_heatmap(scores.confusion, title="convnet: test set")

# %% tags=["remove-input"]
pairs = evaluation.most_confused_pairs(scores.confusion, top=3)
Markdown(
    "Its most frequent mistakes: "
    + ", ".join(
        f"**{p.true}** read as **{p.predicted}** ({p.count})" for p in pairs
    )
    + ". Few enough to look at one by one; here are the ones it is most sure "
    "of:"
)

# %%
plotting.prediction_grid(
    x_test,
    y_test,
    scores.probabilities,
    rows=3,
    cols=7,
    indices=scores.misclassified[:21],
)

# %% [markdown]
# Look at them as a person would: some are hard to read for us too, and some are plain
# digits in a style the training set rarely shows.
#
# ## Your own digit
#
# A trained model is saved to one `.keras` file (architecture, weights and optimiser state)
# and loaded again anywhere Keras runs. To read your own handwriting, draw a digit dark on
# light, crop it to a square, and give the model what it was trained on: 28x28 grey pixels,
# light on dark, scaled to [0, 1]:

# %% tags=["remove-input"]
show(listing.use)

# %% [markdown]
# MNIST's authors scaled each digit, keeping its proportions, to fit a 20x20 box, and
# placed it so that its centre of mass lies at the centre of the 28x28 square; a digit
# drawn to the edges, or off-centre, is read worse. The [draw page](draw.md) frames your
# drawing that way for you, in the browser.

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: The first convolution's parameters
#
# How many parameters does the first `Conv2D` layer have: 32 filters of 3x3 on one grey
# channel? Count them by hand, then compare with the layer table.

# %%
exercises.check("convolutional-network", 1, ...)

# %% tags=["solution"]
first = model.layers[0]
by_hand = (
    3 * 3 * 1 * first.filters + first.filters
)  # weights, then one bias per filter
by_hand, first.count_params()

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("convolutional-network", 1, by_hand))

# %% [markdown]
# ### Exercise 2: The shape after pooling
#
# What is the shape of one image's output after the first convolution (no padding) and the
# first 2x2 max pooling, as (height, width, channels)?
#
# <details><summary>Hint</summary>
# Without padding, a 3-pixel window fits 28 - 2 times across 28 pixels; each filter gives
# one channel.
# </details>

# %%
exercises.check("convolutional-network", 2, ...)

# %% tags=["solution"]
side = (28 - 3 + 1) // 2  # a 3-pixel window fits 26 times; pooling halves
after_pooling = (side, side, 32)
after_pooling, tuple(model.layers[1].output.shape[1:])

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("convolutional-network", 2, after_pooling))

# %% [markdown]
# **Next:** [what the networks learned](what-networks-learned.py) looks inside this
# network; then [beyond 99.5 %](records.py) takes it towards the published records, one
# ingredient at a time, and [error analysis and comparison](error-analysis.py) puts every
# model side by side.
#
# **Try it:** [draw a digit](draw.md) and watch the convnet read your own handwriting, live,
# beside the dense models.
