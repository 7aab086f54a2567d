# %% [markdown]
# # The Flatten layer
#
# > **On this page** you will rewrite the hidden-layer network so that it takes 28x28 images
# > directly, with a `Flatten` layer doing the reshaping inside the model, check that it is
# > the same network, and train it better with a learning-rate schedule. Model: `flatten`.

# %%
import numpy as np
from IPython.display import Markdown

from mnist_book import data, plotting
from mnist_book.config import recipe
from mnist_book.models import build_model, layer_table, prepare_images
from mnist_book.training import train

(x_train, y_train), (x_test, y_test) = data.load_mnist()

# %% [markdown]
# ## Reshaping inside the model
#
# So far every image was turned into 784 numbers before it reached the model, so whoever
# calls the model has to remember to do it. Keras's `Flatten` layer does it as the model's
# first step: the model accepts images shaped like the data, and the reshaping travels with
# it when it is saved or deployed.

# %%
model = build_model("flatten")
layer_table(model)

# %% [markdown]
# `Flatten` has no weights: it only reshapes. So this should be exactly the hidden-layer
# network. Let us check, by giving both the same weights and comparing their outputs on the
# test set:

# %%
hidden = build_model("hidden_layer")
model.set_weights(hidden.get_weights())
same = np.array_equal(
    hidden.predict(prepare_images("hidden_layer", x_test), verbose=0),
    model.predict(prepare_images("flatten", x_test), verbose=0),
)
Markdown(
    f"Parameters: {hidden.count_params():,} and {model.count_params():,}. "
    f"Identical predictions on all {len(x_test):,} test images: **{same}**."
)

# %% [markdown]
# ## Training it better: a learning-rate schedule
#
# On the previous page the validation loss started rising after a few epochs while the
# training loss kept falling: with a constant learning rate, Adam keeps taking steps of the
# same size and the weights keep moving, partly fitting noise in the training images. A
# **learning-rate schedule** shrinks the steps as training goes on. Cosine decay starts at
# Adam's default rate and lowers it smoothly to zero by the last batch, so training first
# explores, then settles.
#
# Since the network is exactly the same, any difference in accuracy comes from training
# alone:

# %%
recipe("flatten")

# %%
result = train("flatten")

# %%
plotting.training_curves(
    result.history, title="flatten, cosine learning-rate decay"
)

# %%
scores = result.evaluate(x_test, y_test)
hidden_result = train("hidden_layer")
Markdown(
    f"With the schedule, the network classifies **{scores.accuracy:.2%}** of "
    f"the test digits correctly after {result.config.epochs} epochs, against "
    f"{hidden_result.test_accuracy:.2%} with a constant learning rate on the "
    "previous page: "
    f"{(1 - result.test_accuracy) / (1 - hidden_result.test_accuracy):.0%} of "
    "the errors, from the same architecture and the same number of weights."
)

# %%
plotting.confusion_heatmap(scores.confusion, title="flatten: test set")

# %% [markdown]
# **Next:** [a convnet](convolutional-network.py) stops treating the image as a flat list of
# pixels altogether.
#
# **Try it:** [draw a digit](draw.md) and watch this model read it, live, beside the others.
