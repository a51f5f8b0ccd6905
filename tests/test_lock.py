"""The lock (`make lock`) that `make install` and CI install from: every dependency pinned to one release,
nothing that ties it to one machine, and nothing added to pyproject.toml without re-locking."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; these tests are not core tests

LOCKS = sorted(REPO.glob("constraints*.txt"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock) -> dict[str, str]:
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    found = {}
    for line in lines:
        match = PIN.match(line)
        assert match, f"{lock.name}: {line!r} is not name==version (a path, URL or range ties the lock to one machine)"
        found[normalized(match[1])] = match[2]
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalized(re.match(r"[A-Za-z0-9._-]+", req)[0]) for req in requirements}


def test_the_locks_are_committed() -> None:
    names = {lock.name for lock in LOCKS}
    assert names >= {"constraints.txt", "constraints-core-3.10.txt", "constraints-core-3.13.txt"}


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_a_lock_pins_releases_only_and_not_the_project(lock) -> None:
    assert "fomo-order" not in pins(lock)


def test_every_dependency_that_make_install_installs_is_locked() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = requirement_names(project["dependencies"])
    for extra in ("all", "test"):
        wanted |= requirement_names(extras[extra])
    for extra in extras:  # `all` names the others as fomo-order[...], and `ray` names similarity
        wanted |= requirement_names(extras[extra])
    wanted.discard("fomo-order")
    missing = wanted - set(pins(REPO / "constraints.txt"))
    assert not missing, f"not in constraints.txt (run `make lock`): {sorted(missing)}"
    assert pins(REPO / "constraints.txt")["torch"] == "2.14.1"


@pytest.mark.parametrize("lock", [p for p in LOCKS if p.name.startswith("constraints-core-")], ids=lambda p: p.name)
def test_a_core_lock_pins_the_core_requirements_and_no_torch(lock) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = pins(lock)
    assert requirement_names(project["dependencies"]) | {"pytest", "hypothesis"} <= set(locked)
    assert not {"torch", "numba", "triton"} & set(locked)
