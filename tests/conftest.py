"""Shared fixtures: traces are pure records, so one per config serves every test."""

from __future__ import annotations

import pytest

import densevis
from densevis.records import Trace


@pytest.fixture(scope="session")
def trace121() -> Trace:
    return densevis.trace("densenet121", device="cpu")
