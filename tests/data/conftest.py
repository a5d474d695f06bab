from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def fx():
    """Path of a fixture file by name."""

    def get(name: str) -> Path:
        p = FIXTURES / name
        assert p.is_file(), p
        return p

    return get


@pytest.fixture
def shared():
    """The shared reference data folder (../shared/data); the test is skipped without it."""
    if not SHARED.is_dir():
        pytest.skip("shared reference data not present")
    return SHARED
