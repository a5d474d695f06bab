"""Atomic file writes and the on-disk cache that makes batch runs incremental.

Every output is written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so a reader (or a run killed half-way) never sees a
half-written file; the temporary file is created by an ordinary ``open``, so the file
gets the permissions any new file of the user gets (their umask). The outcomes of each input file are cached as
JSON (the results' own ``to_json``), keyed by the file's content hash and the options:
a re-run fits only new or changed files, and a killed run resumes where it stopped.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .outcome import document_from_json

__all__ = ["atomic_path", "write_text", "write_bytes", "write_frame", "FitCache"]


#: Temporary names unique across the processes (and machines, on a shared folder) that
#: may write beside each other: host, process id, and a counter of this process.
_HOST = socket.gethostname()
_TMP_COUNT = itertools.count()


@contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``dest`` (not yet created: the caller writes it);
    on success it replaces ``dest`` atomically, on failure it is removed."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{_HOST}.{os.getpid()}.{next(_TMP_COUNT)}.tmp"
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes(dest: str | os.PathLike, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``dest`` atomically."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
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
    """Outcomes of already-processed files, one JSON document per cache key.

    Parameters
    ----------
    folder : path
        Cache folder (created on first write), normally ``OUT/.eisfit-cache``.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, outcomes: bool = True) -> dict | None:
        """The cached document for ``key`` (``rows``, and ``outcomes`` as dicts unless not
        wanted), or None (a damaged or old entry counts as missing)."""
        try:
            return document_from_json(self._path(key).read_text(encoding="utf-8"), outcomes)
        except (FileNotFoundError, UnicodeDecodeError):
            return None

    def put(self, key: str, doc: str) -> None:
        """Store a document made by :func:`~eisfit.batch.outcome.outcomes_to_json`
        atomically (no fsync: a lost entry is merely recomputed)."""
        write_bytes(self._path(key), doc.encode("utf-8"), fsync=False)

    def get_any(self, key: str) -> Any:
        """A small JSON value stored with :meth:`put_any` (e.g. an automatic model)."""
        import json

        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return None

    def put_any(self, key: str, value: Any) -> None:
        import json

        write_bytes(self._path(key), json.dumps(value).encode("utf-8"), fsync=False)

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()
