"""The `mnist-book` command, run in-process through `mnist_book.cli.main`."""

import json
import subprocess
import sys
import textwrap
from dataclasses import fields, replace

import pytest

from mnist_book import cli, config, training
from mnist_book.cli import main
from mnist_book.config import TrainConfig
from mnist_book.data import MNIST_FILES
from mnist_book.models import MODEL_NAMES
from mnist_book.paths import DATA_DIR_ENV
from mnist_book.results import TrainingRecord


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("data", "train", "results"):
        assert f"\n    {command} " in out
    assert DATA_DIR_ENV in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "mnist-book 0.1.0"


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_help_and_data_do_not_import_keras(mnist_dir):
    """Keras takes seconds to import: only `train` and `results` may import it."""
    script = textwrap.dedent(
        """
        import sys
        from mnist_book.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        assert main(["data"]) == 0
        heavy = sorted({"keras", "tensorflow"} & set(sys.modules))
        assert not heavy, f"imported {heavy}"
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr


def test_data_verifies_the_real_files(mnist_dir, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert str(mnist_dir) in out
    assert f"from {DATA_DIR_ENV}" in out
    for name in MNIST_FILES:
        assert any(name in line and "sha256 ok" in line for line in out.splitlines()), name
    assert "train: 60,000 images, 60,000 labels" in out
    assert "test: 10,000 images, 10,000 labels" in out


def test_data_with_a_bad_data_dir_fails_with_the_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nowhere"))
    assert main(["data"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("mnist-book: error: MNIST data not found")
    assert DATA_DIR_ENV in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_data_with_a_corrupt_file_names_it(mnist_dir, tmp_path, monkeypatch, capsys):
    for name in MNIST_FILES:
        (tmp_path / name).symlink_to(mnist_dir / name)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the labels")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert main(["data"]) == 1
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in err
    assert "sha256" in err


def test_unknown_model_is_a_usage_error_listing_the_models(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "resnet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'resnet'" in err
    for name in MODEL_NAMES:
        assert name in err


@pytest.mark.parametrize(
    "option",
    [
        ["--epochs", "0"],
        ["--validation-split", "1.0"],
        ["--train-size", "-5"],
        ["--learning-rate", "0"],
        ["--schedule", "linear"],
    ],
)
def test_nonsense_training_options_are_usage_errors(option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "single_layer", *option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mnist-book train")
    assert option[0].removeprefix("--").replace("-", "_") in err.replace("-", "_")


def test_train_options_override_the_recipe(monkeypatch, capsys):
    """Each option replaces its field of the recipe; the others keep the recipe's values."""
    trained = {}

    def fake_train(name, config, *, use_cache=True):
        trained.update(name=name, config=config, use_cache=use_cache)
        raise KeyboardInterrupt  # stop here: nothing is trained

    monkeypatch.setattr(training, "train", fake_train)
    argv = ["train", "flatten", "--epochs", "3", "--learning-rate", "0.01", "--schedule", "cosine"]
    assert main([*argv, "--no-cache"]) == 130
    assert trained["name"] == "flatten"
    assert trained["use_cache"] is False
    assert trained["config"] == replace(
        config.recipe("flatten"), epochs=3, learning_rate=0.01, schedule="cosine"
    )
    assert capsys.readouterr().err == "mnist-book: interrupted\n"


def test_results_before_any_training(isolated_cache, capsys):
    assert main(["results"]) == 0
    out = capsys.readouterr().out
    for name in MODEL_NAMES:
        assert f"not trained yet — run `mnist-book train {name}`" in out


@pytest.mark.slow
def test_train_then_results_read_the_cache(isolated_cache, monkeypatch, capsys):
    assert main(["train", "single_layer", "--epochs", "1", "--train-size", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Training single_layer" in out  # train() prints this and the epoch lines
    assert [line[:11] for line in out.splitlines() if line.startswith("Epoch")] == ["Epoch  1/1:"]
    summary = out.splitlines()[-1]
    assert summary.startswith("single_layer: test accuracy ")
    assert "7,850 parameters, 1 epoch, trained in" in summary

    # `results` reads the entries of the site's recipes: make the small training the recipe.
    small = replace(config.recipe("single_layer"), epochs=1, train_size=2_000)
    monkeypatch.setitem(config.RECIPES, "single_layer", small)

    def no_training(*args, **kwargs):
        raise AssertionError("`mnist-book results` trained a model")

    monkeypatch.setattr(training, "_train_and_evaluate", no_training)

    assert main(["results"]) == 0
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("single_layer ")]
    assert "not trained" not in row
    assert "7,850" in row
    assert "%" in row
    assert "not trained yet — run `mnist-book train hidden_layer`" in out

    assert main(["results", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    models = {model["name"]: model for model in report["models"]}
    assert list(models) == list(MODEL_NAMES)
    single = models["single_layer"]
    assert single["trained"] is True
    record = TrainingRecord.from_json(single["result"])
    assert record == training.cached_record("single_layer")
    assert record.params == 7_850
    assert record.epochs == 1
    assert record.config == small
    assert 0.5 < record.test_accuracy <= 1.0
    assert models["convnet"] == {"name": "convnet", "trained": False}

    # A second `train` of the same configuration is a cache load, with the same summary.
    assert main(["train", "single_layer", "--epochs", "1", "--train-size", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Epoch  1/1:" in out
    assert out.splitlines()[-1].endswith("loaded from the cache.")


def test_results_ignore_an_entry_of_another_config(isolated_cache):
    """An entry whose stored config differs from the recipe (a stale or foreign one) is skipped."""
    recipe = config.recipe("single_layer")
    entry = training.cache_entry("single_layer", recipe)
    assert entry == (
        isolated_cache
        / "models"
        / f"single_layer-{training.cache_key('single_layer', recipe)[:20]}"
    )
    entry.mkdir(parents=True)
    (entry / "model.keras").write_bytes(b"")
    stored = TrainingRecord(
        name="single_layer",
        config=replace(recipe, epochs=99),
        test_accuracy=0.9,
        test_loss=0.35,
        train_seconds=40.0,
        params=7_850,
        images_per_epoch=53_984,
        history={"loss": [0.35] * 99, "seconds": [0.4] * 99},
    )
    (entry / "result.json").write_text(json.dumps(stored.to_json()))
    assert training.cached_record("single_layer", recipe) is None
    assert training.cached_record("single_layer", replace(recipe, epochs=99)) is None  # its key
    stored = replace(stored, config=recipe)
    (entry / "result.json").write_text(json.dumps(stored.to_json()))
    assert training.cached_record("single_layer", recipe) == stored
    assert training.cached_record("single_layer") == stored  # the recipe is the default
    renamed = replace(stored, name="hidden_layer")
    (entry / "result.json").write_text(json.dumps(renamed.to_json()))
    assert training.cached_record("single_layer", recipe) is None  # another model's result
    (entry / "result.json").write_text(json.dumps(stored.to_json()))
    (entry / "model.keras").unlink()
    assert training.cached_record("single_layer", recipe) is None  # half-written: not trusted


def test_every_training_setting_is_an_option():
    """Local workers get their configuration as options: none may be missing."""
    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    options = {action.dest: action.option_strings for action in train._actions}
    for field in fields(TrainConfig):
        assert f"--{field.name.replace('_', '-')}" in options.get(field.name, []), field.name
    help_text = train.format_help()
    assert all(f"--{field.name.replace('_', '-')}" in help_text for field in fields(TrainConfig))
    # Unless given, an option leaves the recipe's value alone.
    args = parser.parse_args(["train", "single_layer"])
    assert all(getattr(args, field.name) is None for field in fields(TrainConfig))


def test_publish_cache_without_a_build_says_to_build_first(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["publish-cache", str(tmp_path / "out"), "--pages", str(tmp_path / "pages")])
    assert exit_info.value.code == 2
    assert "No executed page in" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
