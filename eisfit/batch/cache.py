"""Atomic file writes and the on-disk cache that makes batch runs incremental.

Every output is written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so a reader (or a run killed half-way) never sees a
half-written file. Fit records are cached one file per input file, keyed by the input
file's content hash and the fit options: a re-run fits only new or changed files, and
a killed run resumes where it stopped.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_text", "write_bytes", "write_frame", "FitCache"]


@contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(dest)


def write_text(dest: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``dest`` atomically."""
    return write_bytes(dest, text.encode("utf-8"))


def write_frame(dest: str | os.PathLike, df: Any, writer: Callable[[Any, Path], None] | None = None) -> Path:
    """Write a DataFrame atomically: CSV by default, or with ``writer(df, tmp_path)``."""
    with atomic_path(dest) as tmp:
        if writer is None:
            df.to_csv(tmp, index=False, chunksize=5000)  # bounded formatting buffers
        else:
            writer(df, tmp)
    return Path(dest)


class FitCache:
    """Fit records of already-processed files, one pickle per cache key.

    Parameters
    ----------
    folder : path
        Cache folder (created on first write), normally ``OUT/.eisfit-cache``.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> Any | None:
        """Cached value for ``key``, or None (a corrupt entry counts as missing)."""
        p = self._path(key)
        try:
            with open(p, "rb") as fh:
                return pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # truncated or foreign file: recompute
            return None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` atomically (no fsync: a lost entry is merely recomputed)."""
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(p) as tmp:
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()
