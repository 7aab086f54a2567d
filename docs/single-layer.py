# %% [markdown]
# # A single dense layer
#
# > **On this page** you will build the smallest network that reads digits: every one of the
# > 784 pixels connected straight to ten outputs, one per digit. You will write it in Keras,
# > compile it with Adam and sparse categorical cross-entropy, train it, and look at what it
# > gets right and wrong. Model: `single_layer`.

# %%
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
from mnist_book.keras_program import program, show
from mnist_book.models import build_model, layer_table, prepare_images
from mnist_book.training import train

(x_train, y_train), (x_test, y_test) = data.load_mnist()
listing = program("single_layer")

# %% [markdown]
# ## The model
#
# A dense layer computes, for each of its 10 units, a weighted sum of all 784 pixels plus a
# bias, then applies an activation function. Here it is the sigmoid, which squashes each sum
# into (0, 1): a score for "this image is digit *k*". The image is flattened into a row of
# 784 numbers first, so the layer sees no notion of neighbouring pixels.
#
# In Keras: load MNIST, flatten and scale each image, then stack the layers in a
# `Sequential` model, starting with an `Input` that says what one example looks like. This
# is the code of the model this page trains:

# %% tags=["remove-input"]
show(f"{listing.data}\n\n{listing.model}")

# %% [markdown]
# Its layers, as `model.summary()` lists them:

# %%
model = build_model("single_layer")
layer_table(model)

# %% tags=["remove-input"]
Markdown(
    f"That is 784 x 10 weights plus 10 biases: **{model.count_params():,} "
    "parameters**, one weight per pixel per digit."
)

# %% [markdown]
# ## Compiling: optimiser, loss and metric
#
# `compile` says how the model learns and how it is measured:

# %% tags=["remove-input"]
show(listing.compile)

# %% [markdown]
# - **Adam** is the optimiser: gradient descent that adapts a step size for every weight from
#   running averages of its recent gradients, so it needs little tuning.
# - **Sparse categorical cross-entropy** is the loss. For an image of digit *y* it is
#   -log(probability of *y*): small when the model puts its confidence on the right digit,
#   large when it does not. *Sparse* means the labels are plain integers 0-9 rather than
#   one-hot vectors.
# - **Accuracy** is the metric: the fraction of images whose highest-scoring digit is the
#   right one. It is what we care about, but it is not smooth, so the model is trained on the
#   loss and reported on accuracy.
#
# ### Sigmoid scores are not probabilities
#
# The dense models of this site end in a **sigmoid**, as the course this site grew from did:
# each of the ten scores lies between 0 and 1 on its own, and nothing makes them add up to 1.
# The cross-entropy needs probabilities, so Keras divides the ten scores by their sum before
# taking the logarithm: the model is trained on those ratios. The [convnet](convolutional-network.py)
# ends in a **softmax** instead, exp(z<sub>k</sub>) / Σ exp(z<sub>j</sub>), whose ten outputs
# are probabilities by construction; it is the usual choice when an image holds exactly one
# of several classes. Both read a digit the same way (the highest score wins); what differs
# is what the scores mean, as the test set shows below.
#
# ### One step of gradient descent
#
# Training repeats one move: show the model some images, measure the loss, and nudge every
# weight against its gradient, the direction in which the loss grows. For a dense layer the
# gradient has a simple shape. Here is one step of plain gradient descent on the untrained
# model, for one training digit: the gradient of the loss with respect to the 784 weights of
# the digit's own output unit, drawn in the pixels' places, and the score before and after.

# %%
step = inspection.gradient_step(
    model, prepare_images("single_layer", x_train[:1])[0], y_train[0]
)
inspection_plots.gradient_step_plot(step)

# %% tags=["remove-input"]
Markdown(conclusions.gradient_step(step))

# %% [markdown]
# ## Training
#
# One *epoch* is one pass over the training images in mini-batches; `validation_split` holds
# out the last 10 % of the training images to measure the model on after each epoch, so we
# can watch for overfitting without touching the test set:

# %% tags=["remove-input"]
show(listing.fit)

# %% [markdown]
# The site runs that training with its batches in a fixed, seeded order, so that every build
# trains the very same weights; your own run of the code shuffles its own way and lands close
# to, not exactly on, the numbers below.

# %%
result = train("single_layer")

# %%
plotting.training_curves(result.history, title="single_layer")

# %% tags=["remove-input"]
Markdown(
    conclusions.learning_curves(result.history, result.config)
    + " With 7,850 weights the model is too small to memorise 54,000 digits: "
    "what"
    " limits it is what one layer can express."
)

# %% [markdown]
# ## On the test set
#
# The 10,000 test images were never used in training or validation:

# %% tags=["remove-input"]
show(listing.evaluate)

# %%
scores = result.evaluate(x_test, y_test)

# %% tags=["remove-input"]
Markdown(
    f"The single layer classifies **{scores.accuracy:.2%}** of the test digits "
    f"correctly ({scores.labels.size - scores.misclassified.size:,} of "
    f"{scores.labels.size:,}). "
    + conclusions.score_sums(scores.probabilities.sum(axis=1))
)

# %% [markdown]
# The first 21 test digits with the model's guess and its score; mistakes are in red.

# %%
plotting.prediction_grid(x_test, y_test, scores.probabilities, rows=3, cols=7)

# %% [markdown]
# ## What it gets wrong
#
# The confusion matrix counts, for every true digit (row), how often each digit was predicted
# (column). The diagonal holds the correct answers; everything else is a mistake.

# %%
plotting.confusion_heatmap(scores.confusion, title="single_layer: test set")

# %% tags=["remove-input"]
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
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: Count the parameters
#
# How many parameters does the single layer have? Count them from its shape, 784 pixels in
# and 10 units out, before you look at the layer table.
#
# <details><summary>Hint</summary>
# A Dense unit computes a weighted sum of its inputs plus a bias.
# </details>

# %%
exercises.check("single-layer", 1, ...)

# %% tags=["solution"]
weights = 784 * 10  # one per pixel, for each of the 10 units
biases = 10  # one per unit
weights + biases

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("single-layer", 1, weights + biases))

# %% [markdown]
# ### Exercise 2: A learning rate too small
#
# Train two new single-layer models for one epoch on the first 10,000 training images: one
# with Adam's usual learning rate, 0.001, and one with 0.000001. Give their test accuracies as
# a pair, `(usual, tiny)`. What does the tiny rate do?
#
# <details><summary>Hint</summary>
# <code>build_model("single_layer", learning_rate=1e-6)</code> gives a new, compiled model;
# <code>model.evaluate</code> returns the loss and the accuracy.
# </details>

# %%
exercises.check("single-layer", 2, ...)

# %% tags=["solution"]
import keras  # here, after mnist_book has set TensorFlow up

images = prepare_images("single_layer", x_train[:10_000])
test_images = prepare_images("single_layer", x_test)
accuracies = []
for rate in (1e-3, 1e-6):
    keras.utils.set_random_seed(0)
    trial = build_model("single_layer", learning_rate=rate)
    trial.fit(images, y_train[:10_000], epochs=1, batch_size=32, verbose=0)
    accuracies.append(trial.evaluate(test_images, y_test, verbose=0)[1])
accuracies

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("single-layer", 2, tuple(accuracies)))

# %% [markdown]
# **Next:** [a hidden layer](hidden-layer.py) lets the network combine pixels before deciding.
#
# **Try it:** [draw a digit](draw.md) and watch this single layer read it, live, beside
# the site's other models.
