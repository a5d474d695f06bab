"""Shared test set-up: the closed-form helpers in ``tests/closed_form.py`` are importable
whatever the working directory."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
