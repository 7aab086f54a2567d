# %% [markdown]
# # A single dense layer
#
# > **On this page** you will build the smallest network that reads digits: every one of the
# > 784 pixels connected straight to ten outputs, one per digit. You will compile it with
# > Adam and sparse categorical cross-entropy, train it, and look at what it gets right and
# > wrong. Model: `single_layer`. Uses `mnist_book.models`, `training`, `evaluation`, `plotting`.

# %%
from IPython.display import Markdown

from mnist_book import data, evaluation, plotting
from mnist_book.config import recipe
from mnist_book.models import build_model, layer_table
from mnist_book.training import train

(x_train, y_train), (x_test, y_test) = data.load_mnist()

# %% [markdown]
# ## The model
#
# A dense layer computes, for each of its 10 units, a weighted sum of all 784 pixels plus a
# bias, then applies an activation function. Here it is the sigmoid, which squashes each sum
# into (0, 1): a score for "this image is digit *k*". The image is flattened into a row of
# 784 numbers first, so the layer sees no notion of neighbouring pixels.

# %%
model = build_model("single_layer")
layer_table(model)

# %%
Markdown(
    f"That is 784 x 10 weights plus 10 biases: **{model.count_params():,} "
    "parameters**, one weight per pixel per digit."
)

# %% [markdown]
# ## Compiling: optimiser, loss and metric
#
# `build_model` returns the model compiled the way every model on this site is:
#
# - **Adam** is the optimiser: gradient descent that adapts a step size for every weight from
#   running averages of its recent gradients, so it needs little tuning.
# - **Sparse categorical cross-entropy** is the loss. For an image of digit *y* it is
#   -log(score of *y*), normalised over the ten outputs: small when the model puts its
#   confidence on the right digit, large when it does not. *Sparse* means the labels are
#   plain integers 0-9 rather than one-hot vectors.
# - **Accuracy** is the metric: the fraction of images whose highest-scoring digit is the
#   right one. It is what we care about, but it is not smooth, so the model is trained on the
#   loss and reported on accuracy.
#
# ## Training
#
# The site trains each model with a fixed recipe. One *epoch* is one pass over the training
# images in mini-batches; 10% of the training set is held out to validate on after each epoch,
# so we can watch for overfitting without touching the test set.

# %%
recipe("single_layer")

# %%
result = train("single_layer")

# %%
plotting.training_curves(result.history, title="single_layer")

# %% [markdown]
# Both curves flatten out after a few epochs, with validation close to training: the model
# is too small to overfit much, and too small to do much better.
#
# ## On the test set
#
# The 10,000 test images were never used in training or validation.

# %%
scores = result.evaluate(x_test, y_test)
Markdown(
    f"The single layer classifies **{scores.accuracy:.2%}** of the test digits "
    f"correctly ({scores.labels.size - scores.misclassified.size:,} of "
    f"{scores.labels.size:,})."
)

# %% [markdown]
# The first 21 test digits with the model's guess and its confidence; mistakes are in red.

# %%
plotting.prediction_grid(x_test, y_test, scores.probabilities, rows=3, cols=7)

# %% [markdown]
# ## What it gets wrong
#
# The confusion matrix counts, for every true digit (row), how often each digit was predicted
# (column). The diagonal holds the correct answers; everything else is a mistake.

# %%
plotting.confusion_heatmap(scores.confusion, title="single_layer: test set")

# %%
pairs = evaluation.most_confused_pairs(scores.confusion, top=3)
worst = scores.per_class_accuracy.argmin()
Markdown(
    "The most frequent mistakes: "
    + ", ".join(
        f"**{p.true}** read as **{p.predicted}** ({p.count} times)"
        for p in pairs
    )
    + f". The hardest digit is **{worst}**, recognised "
    f"{scores.per_class_accuracy[worst]:.1%} of the time. A single layer can "
    "only weigh each pixel on its own; digits that share most of their ink "
    "cannot be told apart that way."
)

# %% [markdown]
# The mistakes it is most confident about:

# %%
plotting.prediction_grid(
    x_test,
    y_test,
    scores.probabilities,
    rows=2,
    cols=7,
    indices=scores.misclassified[:14],
)

# %% [markdown]
# **Next:** [a hidden layer](hidden-layer.py) lets the network combine pixels before deciding.
#
# **Try it:** [draw a digit](draw.md) and watch this single layer read it, live, beside
# the site's other models.
