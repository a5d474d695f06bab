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
