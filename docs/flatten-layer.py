# %% [markdown]
# # The Flatten layer
#
# > **On this page** you will rewrite the hidden-layer network so that it takes 28x28 images
# > directly, with a `Flatten` layer doing the reshaping inside the model, check that it is
# > the same network, and see what a learning-rate schedule does to its training. Model:
# > `flatten`.

# %%
import numpy as np
from IPython.display import Markdown

from mnist_book import conclusions, data, exercises, plotting
from mnist_book.conclusions import ErrorChange
from mnist_book.keras_program import program, show
from mnist_book.models import build_model, layer_table, prepare_images
from mnist_book.training import train, trained

(x_train, y_train), (x_test, y_test) = data.load_mnist()
listing = program("flatten")

# %% [markdown]
# ## Reshaping inside the model
#
# So far every image was turned into 784 numbers before it reached the model, so whoever
# calls the model has to remember to do it. Keras's `Flatten` layer does it as the model's
# first step: the model accepts images shaped like the data, and the reshaping travels with
# it when it is saved or deployed. The images now keep their 28x28 shape:

# %% tags=["remove-input"]
show(f"{listing.data}\n\n{listing.model}")

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

# %% tags=["remove-input"]
Markdown(
    conclusions.checked(
        f"Both have {model.count_params():,} parameters, and with the same "
        "weights they "
        f"give identical outputs on all {len(x_test):,} test images: the same "
        "network.",
        same and hidden.count_params() == model.count_params(),
        same_outputs=same,
        hidden_layer=hidden.count_params(),
        flatten=model.count_params(),
    )
)

# %% [markdown]
# ## A learning-rate schedule
#
# With a constant learning rate, Adam keeps taking steps of the same size to the very last
# batch, and the weights keep moving, partly fitting noise in the training images (compare
# the validation loss with the training loss on the previous page's curves). A
# **learning-rate schedule** shrinks the steps as training goes on. Cosine decay starts at
# Adam's default rate and lowers it smoothly to zero by the last batch, so training first
# explores, then settles.
#
# In Keras, a schedule is passed to the optimiser in place of a fixed learning rate. It
# counts optimiser steps, so it is given the training's length in steps: the epochs times
# the batches in each.

# %% tags=["remove-input"]
show(f"{listing.compile}\n\n{listing.fit}")

# %% [markdown]
# Since the network is exactly the same, any difference in accuracy comes from training
# alone:

# %%
result = train("flatten")

# %%
plotting.training_curves(
    result.history, title="flatten, cosine learning-rate decay"
)

# %% tags=["remove-input"]
Markdown(conclusions.learning_curves(result.history, result.config))

# %% [markdown]
# On the test set, evaluated as before:

# %% tags=["remove-input"]
show(listing.evaluate)

# %%
scores = result.evaluate(x_test, y_test)
constant = trained("hidden_layer")
constant_scores = constant.evaluate(x_test, y_test)

# %% tags=["remove-input"]
change = ErrorChange.between(constant_scores, scores)
Markdown(
    f"With the schedule, the network classifies **{scores.accuracy:.2%}** of "
    "the test "
    f"digits correctly after {result.config.epochs} epochs, against "
    f"{constant_scores.accuracy:.2%} after {constant.config.epochs} epochs at "
    "a constant "
    "learning rate on the previous page. "
    + conclusions.error_change(
        change,
        f"the constant rate ({constant.config.epochs} epochs)",
        f"the schedule ({result.config.epochs} epochs)",
    )
)

# %%
plotting.confusion_heatmap(scores.confusion, title="flatten: test set")

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: A flattened batch
#
# What shape does a `Flatten` layer give a batch of 32 MNIST images, shape (32, 28, 28)?
# Answer with a tuple, then try it on an array of zeros.

# %%
exercises.check("flatten-layer", 1, ...)

# %% tags=["solution"]
import keras  # here, after mnist_book has set TensorFlow up

tuple(keras.layers.Flatten()(np.zeros((32, 28, 28))).shape)

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("flatten-layer", 1, (32, 784)))

# %% [markdown]
# ### Exercise 2: Halfway down the schedule
#
# What learning rate does this page's cosine schedule give halfway through the training?
# `result.config.learning_rate_schedule()` is the schedule: call it with a step number.

# %%
exercises.check("flatten-layer", 2, ...)

# %% tags=["solution"]
config = result.config
steps = config.steps_per_epoch() * config.epochs
halfway = float(config.learning_rate_schedule()(steps // 2))
halfway

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("flatten-layer", 2, halfway))

# %% [markdown]
# **Next:** [a convnet](convolutional-network.py) stops treating the image as a flat list of
# pixels altogether.
#
# **Try it:** [draw a digit](draw.md) and watch this model read it, live, beside the others.
