"""Fixtures for the DRT tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# make the closed-form helpers importable whatever the working directory
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
