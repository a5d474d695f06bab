"""Fixtures for the batch tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_synth import make_folder


@pytest.fixture
def cycling_folder(tmp_path) -> Path:
    return make_folder(tmp_path / "data")
