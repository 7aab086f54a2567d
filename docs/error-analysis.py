# %% [markdown]
# # Error analysis and comparison
#
# > **On this page** you will compare every model of this site on the same test set: overall
# > accuracy against size, accuracy digit by digit, the pairs of digits each model confuses,
# > and the test images that defeat them. The models are loaded from the cache the earlier
# > pages filled; nothing is retrained.

# %%
import numpy as np
import pandas as pd
from IPython.display import Markdown

from mnist_book import conclusions, data, evaluation, exercises, plotting
from mnist_book.models import MODEL_NAMES
from mnist_book.training import trained

(x_train, y_train), (x_test, y_test) = data.load_mnist()

# %%
results = {name: trained(name) for name in MODEL_NAMES}
scores = {
    name: result.evaluate(x_test, y_test) for name, result in results.items()
}

# %% [markdown]
# ## Accuracy against size

# %%
plotting.model_comparison(
    list(results),
    [s.accuracy for s in scores.values()],
    [r.params for r in results.values()],
)

# %%
summary = pd.DataFrame(
    {
        "test accuracy": [s.accuracy for s in scores.values()],
        "test errors": [s.misclassified.size for s in scores.values()],
        "parameters": [r.params for r in results.values()],
        "epochs": [r.config.epochs for r in results.values()],
        "training seconds": [r.train_seconds for r in results.values()],
    },
    index=list(results),
)
summary.style.format({"test accuracy": "{:.2%}", "training seconds": "{:.0f}"})

# %% tags=["remove-input"]
best = summary["test accuracy"].idxmax()
Markdown(conclusions.accuracy_against_size(summary))

# %% [markdown]
# ## Digit by digit
#
# The fraction of each digit's test images that each model recognises:

# %%
per_class = evaluation.comparison_table(scores)
plotting.per_class_accuracy_plot(per_class)

# %%
per_class.style.format("{:.2%}").highlight_min(
    axis=0, props="background-color: #f8d7da; color: #212121"
)

# %% tags=["remove-input"]
hardest = per_class.mean(axis=1).idxmin()
Markdown(
    f"Averaged over the models, the hardest digit is **{hardest}** "
    f"({per_class.loc[hardest].mean():.1%}); the easiest is "
    f"**{per_class.mean(axis=1).idxmax()}**."
)

# %% [markdown]
# ## The digits each model confuses
#
# The three most frequent (true, predicted) pairs in each model's confusion matrix:

# %%
pd.DataFrame(
    {
        name: [
            f"{p.true} as {p.predicted} ({p.count})"
            for p in evaluation.most_confused_pairs(s.confusion, top=3)
        ]
        for name, s in scores.items()
    },
    index=["1st", "2nd", "3rd"],
)

# %% [markdown]
# ## The images that defeat them
#
# Test digits that even the most accurate model gets wrong, its most confident mistakes
# first, with every model's guess (red when wrong):

# %%
predictions = {name: s.predictions for name, s in scores.items()}
plotting.misclassified_gallery(
    x_test, y_test, predictions, scores[best].misclassified[:18], cols=6
)

# %% tags=["remove-input"]
wrong_everywhere = evaluation.misclassified_by_all(y_test, predictions)
convnet_only = np.setdiff1d(
    scores["convnet"].misclassified, scores["hidden_layer"].misclassified
)
convnet_errors = scores["convnet"].misclassified.size
Markdown(
    f"**{wrong_everywhere.size}** test images are misclassified by all "
    f"{len(scores)} models; of the convnet's {convnet_errors} "
    f"mistakes, {convnet_only.size} are images the hidden-layer network gets "
    "right."
)

# %%
plotting.misclassified_gallery(
    x_test, y_test, predictions, wrong_everywhere[:12], cols=6
)

# %% [markdown]
# Look at them as a person would: some are ambiguous even to us, and a few look
# mislabelled. Past a point, the errors that remain say as much about the data as about the
# models.

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: The convnet's most frequent mistake
#
# Which mistake does the convnet make most often? Answer with a pair `(true digit,
# predicted digit)`, from `scores["convnet"].confusion`.
#
# <details><summary>Hint</summary>
# Rows of a confusion matrix are the true digits, columns the predicted ones.
# </details>

# %%
exercises.check("error-analysis", 1, ...)

# %% tags=["solution"]
confusion = scores["convnet"].confusion.copy()
np.fill_diagonal(confusion, 0)  # the diagonal holds the digits read right
true, predicted = np.unravel_index(confusion.argmax(), confusion.shape)
mistake = (int(true), int(predicted))
mistake

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("error-analysis", 1, mistake))

# %% [markdown]
# ### Exercise 2: Wrong for both
#
# How many test digits do both the single layer and the convnet get wrong?

# %%
exercises.check("error-analysis", 2, ...)

# %% tags=["solution"]
wrong_for_single = scores["single_layer"].predictions != y_test
wrong_for_convnet = scores["convnet"].predictions != y_test
both = int((wrong_for_single & wrong_for_convnet).sum())
both

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("error-analysis", 2, both))

# %% [markdown]
# **Try it:** [draw a digit](draw.md) and make the models disagree with your own handwriting.
#
# Back to the [home page](index.md) for the results table of the whole site.
