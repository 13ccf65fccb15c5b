"""Shared fixtures: paths to the shipped data and the repository."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_ics(root):
    import planner

    return planner.load_dataset(root / "data" / "default_ics")


@pytest.fixture(scope="session")
def england(root):
    import planner

    return planner.load_dataset(root / "data" / "england")
