# Set-up is two commands: `make serve` (the site) and `make test` (the tests).
# Each creates the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency's exact version, for Python 3.11 to 3.13, written from pyproject.toml by
# uv (`make lock`): two machines installing on different days get the same libraries, so the
# same model-cache keys and, training being deterministic, the same numbers.
LOCK := requirements.lock
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --no-header --quiet

# Offline data: point MNIST_BOOK_DATA_DIR at a directory holding the four MNIST .gz files.
# Unset, a checkout with ../shared/data/mnist beside it uses that; otherwise the data is
# downloaded once into the user cache.
ifeq ($(origin MNIST_BOOK_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data/mnist/SHA256SUMS),)
    export MNIST_BOOK_DATA_DIR := $(abspath ../shared/data/mnist)
  endif
endif

export NO_MKDOCS_2_WARNING := 1

.PHONY: help install lock lock-check test test-all test-browser site serve publish-cache bench bench-build bench-serve bench-draw bench-distributed bench-records bench-exercises bench-build-sharded profile lint format clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "mnist-book needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# Environments made before the switch to `tensorflow` have `tensorflow-cpu`, which installs
	@# the same files: remove it first, or the two would overwrite each other (pyproject.toml).
	$(BIN)/python -m pip uninstall --quiet --yes tensorflow-cpu 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)  ## Create .venv and install the package with its docs and test tools, from the lock.

lock: $(STAMP)  ## Write requirements.lock from pyproject.toml (keeping its versions where they still fit).
	$(UV_COMPILE) -o $(LOCK)

lock-check: $(STAMP)  ## Fail if requirements.lock is not what `make lock` writes from pyproject.toml.
	@cp $(LOCK) $(VENV)/lock-check.txt
	@$(UV_COMPILE) -o $(VENV)/lock-check.txt
	@diff -u $(LOCK) $(VENV)/lock-check.txt || { echo "requirements.lock does not match pyproject.toml: run make lock"; exit 1; }

test: $(STAMP)  ## Run the test suite (on every core: each test file in one worker).
	$(BIN)/python -m pytest -n auto --dist loadfile

test-browser: $(STAMP)  ## Drive the built site/ in headless Chromium (after make site).
	$(BIN)/python -m pytest -m browser

site: $(STAMP)  ## Build the static site into site/ (executes every tutorial).
	$(BIN)/mkdocs build --strict

publish-cache: $(STAMP)  ## Write the last build's pages, models and exports as site/cache/ (after make site).
	$(BIN)/mnist-book publish-cache site/cache

serve: $(STAMP)  ## Serve on http://127.0.0.1:8000/mnist-book/ at once; pages execute in the background and fill in.
	$(BIN)/mkdocs serve --livereload

bench: $(STAMP)  ## Seconds per epoch and samples per second for every model.
	$(BIN)/python scripts/bench_training.py

bench-distributed: $(STAMP)  ## Samples per second: one process, two logical devices, two workers.
	$(BIN)/python scripts/bench_distributed.py

profile: $(STAMP)  ## Where an epoch's time goes, for every model (pipeline, augmentation, steps).
	$(BIN)/python scripts/profile_epoch.py

bench-records: $(STAMP)  ## The records chapter's single-model recipe on three seeds (~10 min).
	$(BIN)/python scripts/bench_records.py

bench-exercises: $(STAMP)  ## Seconds the chapters' exercises took in the last build (after make site).
	$(BIN)/python scripts/bench_exercises.py

bench-build-sharded: $(STAMP)  ## A cold build over two 1-core "machines" (shares, merge, build), and 1-8 projected.
	$(BIN)/python scripts/bench_build_sharded.py --machines 2

bench-build: $(STAMP)  ## Time cold, no-change, prose, page-code and package-edit rebuilds.
	$(BIN)/python scripts/bench_build.py --sequential

bench-serve: $(STAMP)  ## A fresh clone's first make serve: first page, every page complete (cold; see make publish-cache).
	$(BIN)/python scripts/bench_serve.py

bench-draw: $(STAMP)  ## The draw page in Chromium: ms per prediction, load to first prediction.
	$(BIN)/python scripts/bench_draw.py

lint: $(STAMP) lock-check  ## Ruff lint and format check; the lock; the GitHub workflows against their schema.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# Fixes first (they can leave code unformatted), then formatting (which fixes long lines that
# the first pass still reports), then the lint once more, failing on what is left to do by hand.
format: $(STAMP)  ## Apply ruff's fixes and formatting; list what is left to fix by hand.
	$(BIN)/ruff check --fix --exit-zero --quiet .
	$(BIN)/ruff format .
	$(BIN)/ruff check .

clean:  ## Remove the built site and local caches (not the user data/model cache).
	rm -rf site .cache .pytest_cache .ruff_cache
