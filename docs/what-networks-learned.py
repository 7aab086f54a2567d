# %% [markdown]
# # What the networks learned
#
# > **On this page** you will look inside two networks the earlier pages trained:
# > the convnet's first filters and what they make of a digit, one digit's path
# > through every layer, the single layer's ten templates, which pixels made the
# > convnet misread a digit (integrated gradients), where the test digits lie in
# > the features its last layer reads, and how a change too small for us to notice
# > fools it (adversarial examples). Nothing is trained here: the models come from
# > the cache. Models: `convnet`, `single_layer`.

# %%
import numpy as np
import pandas as pd
from IPython.display import Markdown

from mnist_book import (
    conclusions,
    data,
    exercises,
    inspection,
    inspection_plots,
)
from mnist_book.evaluation import predict_proba
from mnist_book.models import prepare_images
from mnist_book.training import trained

_, (x_test, y_test) = data.load_mnist()
images = prepare_images("convnet", x_test)

# %%
result = trained("convnet")
convnet = result.model
scores = result.evaluate(x_test, y_test)

# %% [markdown]
# ## The first convolution's filters
#
# The convnet's first layer holds 32 filters of 3x3 weights. Each is slid over the
# image: at every position it multiplies the nine pixels under it by its nine
# weights, adds them up with a bias, and keeps the result if it is positive (ReLU).
# Its **map** is the grid of those results: strong where the image has the
# pattern the filter weighs positively. Here are the filters, each above its map of the
# first test digit.

# %%
digit = images[0]
maps = inspection.filter_maps(convnet, digit)
inspection_plots.filters_and_maps(
    inspection.first_filters(convnet), maps, digit
)

# %% tags=["remove-input"]
background = int(np.sum(maps[:, 0, 0] > 0))
Markdown(
    "Filters with blue on one side and red on the other are edge detectors: "
    "their maps trace only the edges of the strokes that face one way. "
    "Filters of one colour respond to ink in general, and "
    f"{background} of the 32 respond even to the empty background (grey "
    "maps), having a positive bias. The next layers build on these maps."
)

# %% [markdown]
# ## One digit, layer by layer
#
# The same digit through the whole network: each convolution or pooling layer
# below shows its first eight maps (of 32 or 64), the flat layers their values as
# a strip, and the output layer its ten probabilities.

# %%
path = inspection.activations(convnet, digit)
inspection_plots.layer_activations(path, digit)

# %% [markdown]
# The maps shrink and grow more abstract. The first convolution's still look like
# the digit, seen through different edges; max pooling keeps the strongest value
# of each 2x2 window, a coarser copy of the same map; after the second convolution
# each map marks where one combination of strokes occurs.

# %% tags=["remove-input"]
zeros = {
    name: float(np.mean(values == 0))
    for name, values in path
    if name.startswith("conv")
}
Markdown(
    conclusions.checked(
        "ReLU leaves most values at zero: "
        + ", ".join(
            f"{share:.0%} of `{name}`'s" for name, share in zeros.items()
        )
        + ".",
        all(share > 0.5 for share in zeros.values()),
        **zeros,
    )
    + f" The output layer weighs the {convnet.layers[-1].kernel.shape[0]:,}"
    " values left after flattening (dropout changes nothing outside training)"
    " into ten probabilities."
)

# %% [markdown]
# ## The single layer's templates
#
# The [single dense layer](single-layer.py) scores digit d as a weighted sum of
# the 784 pixels plus a bias. Put its 784 weights for d back in the pixels' places
# and they form a 28x28 image: a **template** of what the model looks for. Blue
# weights reward ink, red ones penalise it.

# %%
single = trained("single_layer").model
templates = inspection.weight_templates(single)
inspection_plots.weight_templates_plot(templates)

# %% tags=["remove-input"]
Markdown(conclusions.weight_templates(templates, np.mean(x_test > 0, axis=0)))

# %% [markdown]
#
# ## Which pixels made the convnet misread a digit
#
# **Integrated gradients** (Sundararajan et al., 2017) split a model's output F
# for one class among the pixels. Start from a baseline image x' (here black)
# and walk in a straight line to the digit x; on the way, add up how fast F
# changes with each pixel (its gradient). Pixel j's attribution is
#
# > a_j = (x_j - x'_j) times the average of dF/dx_j along the path,
#
# computed with `tf.GradientTape` at 256 points of the path. The attributions
# have a property worth checking, **completeness**: together they add up to the
# whole change of the output, Σ a_j = F(x) - F(x'). Here F is the convnet's
# probability for a digit, on six of its mistakes (the ones it is surest of),
# once for the digit it read and once for the true one.

# %%
wrong = scores.misclassified[:6]
read, truth = scores.predictions[wrong], y_test[wrong]
for_read = inspection.integrated_gradients(convnet, images[wrong], read)
for_truth = inspection.integrated_gradients(convnet, images[wrong], truth)
inspection_plots.attribution_maps(
    images[wrong], truth, read, for_read, for_truth
)

# %%
digits = np.concatenate([read, truth])
sums = np.concatenate([for_read, for_truth]).sum(axis=(1, 2, 3))
gains = inspection.gain_from_black(
    convnet, np.concatenate([images[wrong]] * 2), digits
)
check = pd.DataFrame(
    {"test image": np.tile(wrong, 2), "digit": digits, "Σ a": sums},
    index=pd.Index(np.repeat(["read", "true"], len(wrong)), name="for the"),
)
check["F(x) - F(x')"] = gains
check["relative gap"] = np.abs(sums / gains - 1)

# %%
check.style.format(
    {"Σ a": "{:+.4f}", "F(x) - F(x')": "{:+.4f}", "relative gap": "{:.2%}"}
)

# %% tags=["remove-input"]
black = predict_proba(convnet, np.zeros((1, *digit.shape)))[0]
gap = check["relative gap"].max()
Markdown(
    conclusions.checked(
        f"The largest gap is **{gap:.2%}**: completeness holds, to within the "
        "error of a sum over 256 points.",
        gap < 0.02,
        largest_gap=gap,
    )
    + " On the black image "
    f"the convnet gives each digit {black.min():.0%} to {black.max():.0%}, so "
    "the attributions for the digit it read add up to nearly "
    f"{1 - black.mean():.1f}, and those for the true digit, whose probability "
    f"ends near zero, to about -{black.mean():.1f}."
)

# %% [markdown]
# In the maps, blue pixels raised the digit's probability and red ones lowered
# it. The row for the reading shows which strokes looked like the wrong digit;
# the row for the truth, which parts of the drawing spoke against the right one.
#
# ## Where the test digits lie
#
# The convnet's last layer reads 1,600 numbers per image (the flattened second
# pooling layer) and weighs them into ten scores. Those **features** place each
# digit in a 1,600-dimensional space; principal component analysis finds the two
# directions along which the 10,000 test digits spread most, and draws the digits
# on that plane. Red crosses mark the convnet's mistakes.

# %%
features = inspection.penultimate_features(convnet, images)
feature_map = inspection.fit_feature_map(features)
inspection_plots.feature_map_plot(
    feature_map.points,
    y_test,
    scores.misclassified,
    explained=feature_map.explained,
)

# %% [markdown]
# The axes say how little of the features' variance each direction holds, so
# digits far apart in the full space may overlap on this map. Still, some digits
# keep a region of their own.

# %% tags=["remove-input"]
Markdown(
    conclusions.mistakes_at_borders(
        feature_map.points, y_test, scores.misclassified
    )
)

# %% [markdown]
# `feature_map.project` puts new features on the same map: subtract the mean,
# multiply by the two directions. Nothing else, so a browser can place a drawn
# digit there with two arrays.
#
# ## Fooling the convnet
#
# The **fast gradient sign method** (Goodfellow et al., 2015) asks which way each
# pixel should move to make the model's loss for the true digit grow, and moves
# every pixel by the same small step ε that way (keeping it between 0 and 1). It
# needs one gradient per image. Here is the test accuracy on the first 1,000 test
# digits, attacked with growing ε.

# %%
first, labels = images[:1000], y_test[:1000]
epsilons = [0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25]
attacked = inspection.fgsm_accuracy(convnet, first, labels, epsilons)
pd.DataFrame({"ε": epsilons, "accuracy": attacked}).style.format(
    {"ε": "{:g}", "accuracy": "{:.1%}"}
).hide(axis="index")

# %% tags=["remove-input"]
own = float(np.mean(scores.predictions[:1000] == labels))
Markdown(
    conclusions.checked(
        "At ε = 0 nothing moves, and the accuracy is the convnet's own on "
        "these "
        f"digits ({own:.1%}).",
        abs(attacked[0] - own) < 1e-9,
        at_zero=attacked[0],
        convnet=own,
    )
)

# %% [markdown]
# Now the digits the convnet is sure of (probability at least 99 %, and right):
# for each, the smallest ε, in steps of 0.01, that makes it read another digit.

# %%
sure = np.flatnonzero(
    (scores.confidence[:1000] >= 0.99) & (scores.predictions[:1000] == labels)
)
grid = np.round(np.arange(0.01, 0.305, 0.01), 2)
flips = inspection.smallest_flipping_epsilon(
    convnet, first[sure], labels[sure], grid
)

# %% tags=["remove-input"]
Markdown(
    f"{len(sure)} of the first 1,000 test digits are read right with at "
    f"least 99 % probability. FGSM flips {np.isfinite(flips).sum()} of them "
    f"with an ε up to 0.3; half of those need ε ≥ {np.nanmedian(flips):g}, "
    f"but the most fragile flips at ε = **{np.nanmin(flips):g}**, a change "
    f"of {np.nanmin(flips) * 255:.0f} grey levels (of 255) per pixel."
)

# %%
chosen, epsilon = sure[np.nanargmin(flips)], float(np.nanmin(flips))
fooled = inspection.fgsm(convnet, first[[chosen]], labels[[chosen]], epsilon)
inspection_plots.adversarial_plot(
    epsilons,
    attacked,
    first[chosen],
    fooled[0],
    label=int(labels[chosen]),
    epsilon=epsilon,
    before=scores.probabilities[chosen],
    after=predict_proba(convnet, fooled)[0],
)

# %% tags=["remove-input"]
faint = "faintly " if epsilon <= 0.05 else ""
Markdown(
    f"To us the attacked digit is the same digit on a {faint}speckled "
    f"background: no pixel moved by more than ε = {epsilon:g}. But every pixel "
    "moved in the direction that hurts the convnet most, and 784 small moves "
    "add up. Attacks like this one are why a model's test accuracy says "
    "nothing about inputs chosen to fool it."
)

# %% [markdown]
# ## Exercises
#
# Write your answer in place of `...` in an exercise's cell and run it: `exercises.check`
# says whether it is right, or what is off. Each solution, executed when this page was built,
# is folded under its exercise.
#
# ### Exercise 1: Another digit's background
#
# Take the first 7 of the test set, `images[np.flatnonzero(y_test == 7)[0]]`. How many of
# the 32 first-layer filters give a positive output in its top-left corner, at [0, 0]?

# %%
exercises.check("what-networks-learned", 1, ...)

# %% tags=["solution"]
seven = images[np.flatnonzero(y_test == 7)[0]]
seven_maps = inspection.filter_maps(convnet, seven)
in_the_corner = int(np.sum(seven_maps[:, 0, 0] > 0))
in_the_corner

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("what-networks-learned", 1, in_the_corner))

# %% [markdown]
# ### Exercise 2: The digit misread most
#
# Which digit does the convnet misread most often on the test set?
#
# <details><summary>Hint</summary>
# <code>scores.misclassified</code> holds the indices of the digits read wrong.
# </details>

# %%
exercises.check("what-networks-learned", 2, ...)

# %% tags=["solution"]
misread = np.bincount(y_test[scores.misclassified], minlength=10)
misread

# %% tags=["solution", "remove-input"]
Markdown(exercises.solution("what-networks-learned", 2, int(misread.argmax())))

# %% [markdown]
# **Next:** [beyond 99.5 %](records.py) takes the convnet towards the published
# records, one ingredient at a time; then [error analysis and
# comparison](error-analysis.py) puts every model side by side.
