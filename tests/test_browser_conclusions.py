"""The sentences of the built pages agree with the tables beside them.

The build checks each conclusion against the numbers it was made from; these tests read
the pages as a learner does, in Chromium, and compare a sentence's figures with the table
that shows the same thing, so that prose and table cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TUTORIALS = [
    "mnist-data",
    "single-layer",
    "hidden-layer",
    "flatten-layer",
    "convolutional-network",
    "what-networks-learned",
    "records",
    "error-analysis",
    "distributed-training",
]


def _page(visit: Any, path: str) -> Any:
    page = visit().context.new_page()
    page.goto(f"{path}/")
    return page


def _table(page: Any, containing: str) -> list[list[str]]:
    """The rows (header row first) of the first table whose header has `containing`."""
    return page.evaluate(
        """(containing) => {
            const table = [...document.querySelectorAll("article table")]
                .find((t) => t.querySelector("thead").innerText.includes(containing));
            return [...table.querySelectorAll("tr")].map((row) =>
                [...row.querySelectorAll("th, td")].map((cell) => cell.innerText.trim()));
        }""",
        containing,
    )


def _column(rows: list[list[str]], header: str) -> dict[str, str]:
    """Row name -> cell of the column `header`."""
    at = rows[0].index(header)
    return {row[0]: row[at] for row in rows[1:] if len(row) > at and row[at]}


@pytest.mark.parametrize("path", TUTORIALS)
def test_no_page_says_a_share_of_errors_above_all_of_them(visit: Any, path: str) -> None:
    text = _page(visit, path).locator("article").inner_text()
    assert not re.search(r"\b([1-9]\d{2,})% of the errors", text), path
    assert "warmu\n" not in text


def test_the_hidden_layer_error_counts_are_the_tables(visit: Any) -> None:
    page = _page(visit, "hidden-layer")
    errors = _column(_table(page, "test errors"), "test errors")
    sentence = page.get_by_text("cuts the test errors from").inner_text()
    assert f"from {errors['single_layer']} to {errors['hidden_layer']}" in sentence


def test_error_analysis_names_the_most_accurate_model_as_its_table_does(visit: Any) -> None:
    page = _page(visit, "error-analysis")
    rows = _table(page, "parameters")
    accuracy = _column(rows, "test accuracy")
    params = {
        name: int(value.replace(",", "")) for name, value in _column(rows, "parameters").items()
    }
    best = max(accuracy, key=lambda name: float(accuracy[name].rstrip("%")))
    sentence = page.get_by_text("is the most accurate").inner_text()
    assert sentence.startswith(f"{best} is the most accurate")
    largest = max(params, key=params.get)
    assert ("also the largest" in sentence) == (best == largest), sentence
    assert f"{params[best]:,} parameters" in sentence


def test_the_records_choice_is_the_votes_tables_and_said_against_the_single_model(
    visit: Any,
) -> None:
    page = _page(visit, "records")
    votes = _table(page, "prediction")
    validation = _column(votes, "validation accuracy")
    test = _column(votes, "test accuracy")
    chosen = max(validation, key=lambda row: float(validation[row].rstrip("%")))
    sentence = page.get_by_text("Chosen by validation accuracy").inner_text()
    assert f"{chosen} classifies {test[chosen]}" in sentence
    single, picked = float(test["single model"].rstrip("%")), float(test[chosen].rstrip("%"))
    if picked < single:
        assert "below the single model's" in sentence
    elif chosen != "single model":
        assert re.search(r"more test digits? right", sentence) or "no gain" in sentence


def test_the_records_time_saved_is_the_sum_of_its_table(visit: Any) -> None:
    page = _page(visit, "records")
    rows = _table(page, "minutes before")
    sentence = page.get_by_text("The four trainings took").inner_text()
    said = re.search(r"took ([\d.]+) minutes before and ([\d.]+) minutes now", sentence)
    assert said, sentence
    for column, value in zip(("minutes before", "minutes now"), said.groups(), strict=True):
        cells = [float(cell) for cell in _column(rows, column).values()]
        assert abs(sum(cells) - float(value)) <= 0.05 * len(cells) + 0.05, (column, sentence)
    for step, accuracy in _column(rows, "test accuracy now").items():
        assert f"{step}, " in sentence and f"to {accuracy}" in sentence, (step, sentence)
