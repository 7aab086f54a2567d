"""The pinned environment: requirements.lock agrees with pyproject.toml and is what is installed."""

import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def locked() -> dict[str, Requirement]:
    """The lock's pins that apply to this Python, by normalised name."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                pins[_name(requirement.name)] = requirement
    return pins


def _name(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def declared() -> list[Requirement]:
    """What pyproject.toml asks for: the dependencies and the dev extra's, recursively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted, todo = list(project["dependencies"]), ["dev"]
    while todo:
        for line in extras[todo.pop()]:
            requirement = Requirement(line)
            if _name(requirement.name) == "mnist-book":
                todo.extend(requirement.extras)
            else:
                wanted.append(line)
    return [Requirement(line) for line in wanted]


def test_the_lock_pins_every_declared_dependency_within_its_range():
    pins = locked()
    for requirement in declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in requirements.lock: run make lock"
        (exact,) = pin.specifier
        assert exact.operator == "==", f"{pin} is not an exact pin"
        assert requirement.specifier.contains(exact.version, prereleases=True), (
            f"requirements.lock pins {pin}, outside pyproject.toml's {requirement}: run make lock"
        )


def test_the_environment_is_the_lock():
    """`make install` installs the lock: every pinned package at its pinned version."""
    different = {}
    for name, pin in locked().items():
        (exact,) = pin.specifier
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != exact.version:
            different[name] = (exact.version, installed)
    assert not different, (
        f"Installed versions differ from requirements.lock (pinned, installed): {different}; "
        f"run make install (Python {sys.version.split()[0]})"
    )
