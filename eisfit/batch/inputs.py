"""Finding spectrum files and fingerprinting their content.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for n in ("b_cycle10.csv", "b_cycle2.csv", ".hidden.csv"):
...     _ = (d / n).write_text("1,2,3\\n")
>>> [p.name for p in discover(d)]
['b_cycle2.csv', 'b_cycle10.csv']
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import ReaderFileNotFoundError

__all__ = ["discover", "discover_rooted", "file_hash", "natural_key", "relative_name"]

_CHUNK = 1 << 20


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers numerically (``cycle2`` < ``cycle10``).

    A flat tuple, two items per part: ``0, number`` or ``1, lower-case text`` (a number
    sorts before text at the same place); the text parts are interned, so the keys of a
    folder of 100,000 files named alike share them."""
    out: list = []
    for p in re.split(r"(\d+)", str(text)):
        if p.isdigit():
            out += (0, int(p))
        elif p:
            out += (1, sys.intern(p.lower()))
    return tuple(out)


def file_hash(path: str | os.PathLike) -> str:
    """BLAKE2b content hash (hex, 32 characters) of a file, read in 1 MiB chunks."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _walk(top: str, recursive: bool, excluded) -> Iterator[tuple[str, str]]:
    """``(path, name relative to top in POSIX form)`` of the files under the folder ``top``,
    as ``Path.rglob`` finds them (symbolic links to folders are not entered, unreadable
    folders are passed over), without hidden files and folders or excluded folders; plain
    strings: a folder of 100,000 files is listed without a ``Path`` per file."""
    stack = [(top, "")]
    while stack:
        folder, rel_dir = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith((".", "__")):
                continue
            path = e.name if folder == "." else os.path.join(folder, e.name)
            try:
                if e.is_dir(follow_symlinks=False):
                    if recursive and not excluded(path):
                        stack.append((path, f"{rel_dir}{e.name}/"))
                elif e.is_file():  # a link to a file counts, as for Path.is_file
                    yield path, rel_dir + e.name
            except OSError:
                continue


def discover(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    glob: str = "*",
    recursive: bool = True,
    exclude: Iterable[str | os.PathLike] = (),
) -> list[Path]:
    """Files to analyse, in natural order.

    Parameters
    ----------
    paths : path or iterable of paths
        Folders (searched) and/or files (taken as given).
    glob : str
        Pattern file names in folders must match (e.g. ``"*.mpt"``); applied to the
        path relative to the folder when it contains ``/``.
    recursive : bool
        Search sub-folders.
    exclude : iterable of paths
        Files or folders to leave out (the output folder, a sidecar table, ...).

    Returns
    -------
    list of Path
        Hidden files and folders (names starting with ``.`` or ``__``) are skipped.

    Raises
    ------
    ReaderFileNotFoundError
        A given path does not exist (a ``FileNotFoundError``).
    """
    return [Path(p) for p, _, _ in discover_rooted(paths, glob=glob, recursive=recursive,
                                                   exclude=exclude)]


def discover_rooted(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    glob: str = "*",
    recursive: bool = True,
    exclude: Iterable[str | os.PathLike] = (),
) -> list[tuple[str, str, Path | None]]:
    """Like :func:`discover`, with each file's name relative to its folder and the folder.

    Returns
    -------
    list of (path, relative name, folder or None for files given directly); the paths as
    strings (a folder of 100,000 files held as ``Path`` objects costs tens of MB)
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    excluded = [os.path.abspath(p) for p in exclude]

    def is_excluded(p: str) -> bool:
        if not excluded:
            return False
        a = os.path.abspath(p)
        return any(a == e or a.startswith(e + os.sep) for e in excluded)

    found: list[tuple[str, str, Path | None]] = []
    seen: set[str] = set()
    for root in map(Path, paths):
        if not root.exists():
            raise ReaderFileNotFoundError("no such file or folder", root)
        if root.is_file():
            cand = [(str(root), root.name, None)]
        else:
            cand = []
            for p, rel_s in _walk(str(root), recursive, is_excluded):
                target = rel_s if "/" in glob else rel_s.rpartition("/")[2]
                if is_excluded(p) or not _fnmatch(target, glob):
                    continue
                cand.append((p, rel_s, root))
            cand.sort(key=lambda c: natural_key(c[1]))
        for p, rel_s, r in cand:
            key = os.path.abspath(p)
            if key not in seen:
                seen.add(key)
                found.append((p, rel_s, r))
    return found


def _fnmatch(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(name, pattern)


def relative_name(path: Path, roots: Iterable[Path]) -> str:
    """``path`` relative to the first of ``roots`` that contains it (POSIX form)."""
    rp = Path(path).resolve()
    for root in roots:
        rr = Path(root).resolve()
        if rr.is_dir() and (rr == rp.parent or rr in rp.parents):
            return rp.relative_to(rr).as_posix()
    return Path(path).name
