# %% [markdown]
# # A convnet
#
# > **On this page** you will train the small convolutional network from the
# > [keras.io MNIST example](https://keras.io/examples/vision/mnist_convnet/), see why
# > convolutions suit images, and compare it with the dense networks. Model: `convnet`.

# %%
from IPython.display import Markdown

from mnist_book import data, evaluation, plotting
from mnist_book.config import recipe
from mnist_book.models import build_model, layer_table
from mnist_book.training import train

(x_train, y_train), (x_test, y_test) = data.load_mnist()

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
# output layer uses **softmax**, so the ten scores form a probability distribution.

# %%
model = build_model("convnet")
layer_table(model)

# %%
hidden_params = build_model("hidden_layer").count_params()
Markdown(
    f"**{model.count_params():,} parameters**, fewer than half of the "
    f"hidden-layer network's {hidden_params:,}: a filter's weights are shared "
    "across the whole image."
)

# %% [markdown]
# ## Training
#
# As on keras.io: batches of 128 and 10% of the training images held out for validation.

# %%
recipe("convnet")

# %%
result = train("convnet")

# %%
plotting.training_curves(result.history, title="convnet")

# %% [markdown]
# Validation accuracy sits above training accuracy here: dropout is active while training
# and off while validating, so the training figures are measured on a handicapped network.
#
# ## On the test set

# %%
scores = result.evaluate(x_test, y_test)
Markdown(
    f"The convnet classifies **{scores.accuracy:.2%}** of the test digits "
    f"correctly: {scores.misclassified.size} mistakes in "
    f"{scores.labels.size:,} images (keras.io reports 99.22% for the same "
    "architecture)."
)

# %%
plotting.confusion_heatmap(scores.confusion, title="convnet: test set")

# %%
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
# Many of these are hard for a person too: a 4 that is nearly a 9, a 7 written like a 1.
#
# **Next:** [what the networks learned](what-networks-learned.py) looks inside this
# network; then [beyond 99.5 %](records.py) takes it towards the published records, one
# ingredient at a time, and [error analysis and comparison](error-analysis.py) puts every
# model side by side.
#
# **Try it:** [draw a digit](draw.md) and watch the convnet read your own handwriting, live,
# beside the dense models.
