# %% [markdown]
# # A hidden layer
#
# > **On this page** you will add a hidden layer of 100 ReLU units between the pixels and the
# > output, train it the same way, and measure what the extra layer bought over the
# > [single dense layer](single-layer.py). Model: `hidden_layer`.

# %%
import pandas as pd
from IPython.display import Markdown

from mnist_book import conclusions, data, evaluation, exercises, plotting
from mnist_book.conclusions import ErrorChange
from mnist_book.keras_program import program, show
from mnist_book.models import build_model, layer_table, prepare_images
from mnist_book.training import train, trained

(x_train, y_train), (x_test, y_test) = data.load_mnist()
listing = program("hidden_layer")

# %% [markdown]
# ## The model
#
# The hidden layer's 100 units each compute a weighted sum of all 784 pixels, then the ReLU
# activation, max(0, x), keeps the positive part. Each unit can learn to respond to a
# pattern of strokes; the output layer then scores digits from those 100 pattern detectors
# rather than from raw pixels. Without a non-linear activation the two layers would collapse
# into a single linear map, and nothing would be gained.
#
# In Keras it is one more `Dense` line in the stack, between the input and the output
# (the data prepared as on the previous page):

# %% tags=["remove-input"]
show(f"{listing.data}\n\n{listing.model}")

# %%
model = build_model("hidden_layer")
layer_table(model)

# %% tags=["remove-input"]
single_params = build_model("single_layer").count_params()
Markdown(
    "The hidden layer has 784 x 100 + 100 parameters and the output layer 100 "
    "x 10 + 10: "
    f"**{model.count_params():,}**, {model.count_params() / single_params:.0f} "
    "times the "
    f"single layer's {single_params:,}."
)

# %% [markdown]
# ## Training
#
# Compiled as before, and fitted with larger batches of 128 images, for 15 epochs:

# %% tags=["remove-input"]
show(f"{listing.compile}\n\n{listing.fit}")

# %%
result = train("hidden_layer")

# %%
plotting.training_curves(result.history, title="hidden_layer")

# %% tags=["remove-input"]
Markdown(conclusions.learning_curves(result.history, result.config))

# %% [markdown]
# ## On the test set

# %% tags=["remove-input"]
show(listing.evaluate)

# %%
scores = result.evaluate(x_test, y_test)

# %% tags=["remove-input"]
Markdown(
    f"The hidden-layer network classifies **{scores.accuracy:.2%}** of the "
    "test digits correctly."
)

# %%
plotting.prediction_grid(x_test, y_test, scores.probabilities, rows=3, cols=7)

# %%
plotting.confusion_heatmap(scores.confusion, title="hidden_layer: test set")

# %% [markdown]
# ## What the hidden layer bought
#
# The single-layer model from the previous page, side by side with this one:

# %%
single = trained("single_layer")
single_scores = single.evaluate(x_test, y_test)

# %%
comparison = pd.DataFrame(
    {
        "test accuracy": [single_scores.accuracy, scores.accuracy],
        "test errors": [
            single_scores.misclassified.size,
            scores.misclassified.size,
        ],
        "parameters": [single.params, result.params],
        "training seconds": [single.train_seconds, result.train_seconds],
    },
    index=["single_layer", "hidden_layer"],
)
comparison.style.format(
    {"test accuracy": "{:.2%}", "training seconds": "{:.0f}"}
)

# %% tags=["remove-input"]
change = ErrorChange.between(single_scores, scores)
Markdown(
    conclusions.error_change(change, "the single layer", "the hidden layer")
)

# %%
per_class = evaluation.comparison_table(
    {"single_layer": single_scores, "hidden_layer": scores}
)
plotting.per_class_accuracy_plot(per_class)

# %% tags=["remove-input"]
Markdown(
    conclusions.per_digit_change(
        single_scores.per_class_accuracy,
        scores.per_class_accuracy,
        "the single layer",
    )
)

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: A wider hidden layer
#
# How many parameters would the network have with 300 hidden units instead of 100? Count
# them, then build the model in Keras and let `count_params()` confirm.

# %%
exercises.check("hidden-layer", 1, ...)

# %% tags=["solution"]
import keras  # here, after mnist_book has set TensorFlow up

wider = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
wider.count_params()

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("hidden-layer", 1, wider.count_params()))

# %% [markdown]
# ### Exercise 2: Take away the activation
#
# The page says that without a non-linear activation the two layers would collapse into a
# single linear map. Build the hidden-layer network with `activation=None` in its hidden
# layer, train it for two epochs on the first 10,000 training images, and give `check` the
# model: it tests whether one layer computes the same.

# %%
exercises.check("hidden-layer", 2, ...)

# %% tags=["solution"]
keras.utils.set_random_seed(0)
linear = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(100, activation=None),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
linear.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
images = prepare_images("hidden_layer", x_train[:10_000])
linear.fit(images, y_train[:10_000], epochs=2, batch_size=128, verbose=0)
linear.evaluate(prepare_images("hidden_layer", x_test), y_test, verbose=0)

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("hidden-layer", 2, linear))

# %% [markdown]
# **Next:** [the Flatten layer](flatten-layer.py) writes this same network more cleanly.
#
# **Try it:** [draw a digit](draw.md) and watch this network read it, live, beside the
# single layer and the rest.
