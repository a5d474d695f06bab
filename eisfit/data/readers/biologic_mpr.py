"""BioLogic EC-Lab binary files (``.mpr``, "BIO-LOGIC MODULAR FILE").

Written from the file layout observed in public example files (checked value by value
against EC-Lab's own text exports of the same measurements); no third-party decoder
was used or consulted.

Layout
------
* 52-byte file header starting ``BIO-LOGIC MODULAR FILE\\x1a``;
* a sequence of modules, each ``MODULE`` + 10-byte short name + 25-byte long name +
  [``\\xff\\xff\\xff\\xff`` in newer files] + ``uint32`` data length + [``uint32`` 0 in newer
  files] + ``uint32`` version + 8-byte date, then the data;
* ``VMP Set``: settings; first byte is the technique id;
* ``VMP data``: ``uint32`` number of rows, the number of columns (``uint8`` at offset 4 for
  module versions < 10, ``uint16`` for later ones), one ``uint16`` id per column, then the
  rows (little-endian, packed) at offset 0x195 (v2), 0x196 (v3) or 0x3EF (v ≥ 10).
  Flag columns (mode, ox/red, error, ...) share one byte;
* ``VMP loop``: ``uint32`` count, then that many ``uint32`` row indices where loops start.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import Roles, build_spectra, read_bytes

FORMAT = "biologic-mpr"
EXTENSIONS = (".mpr",)
OPTIONS = frozenset({"sign_fix"})
MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"

# column id -> (EC-Lab column name, numpy dtype); only ids verified on real files
COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    9: ("Ece/V", "<f4"),
    11: ("I/mA", "<f8"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dQ/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    69: ("R/Ohm", "<f4"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    75: ("Analog OUT/V", "<f4"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    182: ("step time/s", "<f8"),
    211: ("Q charge/discharge/mA.h", "<f8"),
    212: ("half cycle", "<u4"),
    213: ("z cycle", "<u4"),
    438: ("step time/s", "<f8"),
    462: ("Temperature/°C", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
}
# bit-field columns packed together into a single byte
FLAG_IDS = frozenset({1, 2, 3, 21, 31, 65})
TECHNIQUES = {0x04: "GCPL", 0x19: "CP", 0x1D: "PEIS", 0x1E: "GEIS", 0x7F: "MB"}
_DATA_START = {2: 0x195, 3: 0x196}
_DATA_START_NEW = 0x3EF
# what the impedance columns mean for the shared column-role machinery
_ROLE_OF = {
    32: "freq",
    37: "zre",
    38: "neg_zim",
    36: "zmod",
    35: "phase",
    4: "time",
    77: "ewe",
    76: "current",
    24: "cycle",
    131: "step",
    213: "zcycle",
    469: "zcycle",
    462: "temperature",
}


def sniff(head: str | bytes, path: Any = None) -> float:
    """1.0 when ``head`` starts with the BioLogic modular-file magic."""
    if isinstance(head, bytes):
        return 1.0 if head.startswith(MAGIC) else 0.0
    return 1.0 if head.startswith(MAGIC.decode("latin-1")) else 0.0


def modules(raw: bytes, path: Any = None) -> list[dict[str, Any]]:
    """Split an ``.mpr`` file into its modules (name, version, date, data)."""
    if not raw.startswith(MAGIC):
        raise ReaderError("expected 'BIO-LOGIC MODULAR FILE' magic at the start", path)
    out = []
    i = 52
    while i < len(raw):
        if raw[i : i + 6] != b"MODULE":
            if raw[i:].strip(b"\x00") == b"":
                break
            raise ReaderError(f"expected 'MODULE' at byte {i}", path)
        if len(raw) < i + 57:
            raise ReaderError(f"truncated module header at byte {i}", path)
        short = raw[i + 6 : i + 16].decode("latin-1").strip()
        if raw[i + 41 : i + 45] == b"\xff\xff\xff\xff":
            if len(raw) < i + 65:
                raise ReaderError(f"truncated module header at byte {i}", path)
            length, _, version = struct.unpack("<III", raw[i + 45 : i + 57])
            date = raw[i + 57 : i + 65]
            start = i + 65
        else:
            length, version = struct.unpack("<II", raw[i + 41 : i + 49])
            date = raw[i + 49 : i + 57]
            start = i + 57
        end = start + length
        if end > len(raw):
            raise ReaderError(
                f"module {short!r} claims {length} bytes but the file ends after "
                f"{len(raw) - start} (truncated file?)",
                path,
            )
        out.append(
            {
                "name": short,
                "version": version,
                "date": date.decode("latin-1", "replace"),
                "data": raw[start:end],
            }
        )
        i = end
    return out


def _data_layout(d: bytes, version: int, path: Any) -> tuple[int, list[int], int]:
    if len(d) < 6:
        raise ReaderError("data module too short", path)
    n = struct.unpack("<I", d[:4])[0]
    if version >= 10:
        nc = struct.unpack("<H", d[4:6])[0]
        first = 6
        start = _DATA_START_NEW
    else:
        nc = d[4]
        first = 5
        if version not in _DATA_START:
            raise ReaderError(f"unsupported data module version {version}", path)
        start = _DATA_START[version]
    if nc == 0 or first + 2 * nc > min(len(d), start):
        raise ReaderError(f"implausible column count {nc} in data module", path)
    ids = list(struct.unpack(f"<{nc}H", d[first : first + 2 * nc]))
    return n, ids, start


def _row_dtype(ids: list[int], rowsize: int, path: Any) -> tuple[np.dtype, list[int]]:
    """Structured dtype for one row; unknown columns are skipped when their size is implied."""
    names, formats, offsets, skipped = [], [], [], []
    off = 0
    flags_done = False
    unknown_at = None
    for cid in ids:
        if cid in FLAG_IDS:
            if not flags_done:
                off += 1
                flags_done = True
            continue
        if cid not in COLUMNS:
            if unknown_at is not None:
                skipped.append(cid)
                continue
            unknown_at = len(names)
            skipped.append(cid)
            continue
        name, fmt = COLUMNS[cid]
        if unknown_at is not None and len(skipped) > 1:
            # offsets after two unknown columns cannot be known
            continue
        names.append(f"c{cid}")
        formats.append(fmt)
        offsets.append(off)
        off += np.dtype(fmt).itemsize
    known = off
    gap = rowsize - known
    if skipped:
        if len(skipped) == 1 and gap in (1, 2, 4, 8):
            # shift the offsets of the columns after the unknown one
            offsets = [o + gap if k >= unknown_at else o for k, o in enumerate(offsets)]
        elif gap <= 0:
            raise ReaderError(f"row size {rowsize} inconsistent with column ids {ids}", path)
        else:
            # keep only columns whose offsets are certain (before the first unknown)
            names, formats, offsets = names[:unknown_at], formats[:unknown_at], offsets[:unknown_at]
    elif gap != 0:
        raise ReaderError(
            f"row size {rowsize} bytes does not match the {known} bytes implied by column ids "
            f"{ids}",
            path,
        )
    dt = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": rowsize})
    return dt, skipped


def _decode(path: Any) -> tuple[dict[int, np.ndarray], dict[str, Any], dict[str, dict], int, list]:
    raw = read_bytes(path)
    mods = modules(raw, path)
    by_name = {m["name"]: m for m in mods}
    meta: dict[str, Any] = {}
    settings = by_name.get("VMP Set")
    if settings and settings["data"]:
        tid = settings["data"][0]
        meta["technique"] = TECHNIQUES.get(tid, f"technique id {tid}")
        if meta["technique"] in ("PEIS", "GEIS"):
            meta["control"] = "potentiostatic" if tid == 0x1D else "galvanostatic"
    datamod = by_name.get("VMP data")
    if datamod is None:
        raise ReaderError("no 'VMP data' module in the file", path)
    meta["date"] = datamod["date"]
    d = datamod["data"]
    n, ids, start = _data_layout(d, datamod["version"], path)
    if n == 0:
        raise ReaderError("data module holds 0 rows", path)
    body = len(d) - start
    if body <= 0 or body % n:
        raise ReaderError(
            f"data module: {body} bytes of rows is not a multiple of {n} rows (truncated?)", path
        )
    dt, skipped = _row_dtype(ids, body // n, path)
    rows = np.frombuffer(d, dtype=dt, count=n, offset=start)
    cols = {int(name[1:]): rows[name].astype(float) for name in dt.names}
    meta["column_ids"] = ids
    return cols, meta, by_name, n, skipped


def columns(path: str | Path) -> dict[str, np.ndarray]:
    """All decodable data columns of an ``.mpr`` file, by EC-Lab column name.

    Examples
    --------
    >>> from eisfit.data.readers import biologic_mpr
    >>> callable(biologic_mpr.columns)
    True
    """
    cols, *_ = _decode(path)
    return {COLUMNS[c][0]: v for c, v in cols.items()}


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read the impedance spectra of an EC-Lab ``.mpr`` file (PEIS or GEIS)."""
    cols, meta, by_name, n, skipped = _decode(path)
    ids = meta.pop("column_ids")
    if 32 not in ids:
        tech = meta.get("technique", "unknown technique")
        raise ReaderError(
            f"no frequency column (id 32): this .mpr holds {tech} data, not impedance; "
            f"column ids {ids}",
            path,
        )
    need = [32, 37, 38] if 38 in cols else [32, 36, 35]
    missing = [c for c in need if c not in cols]
    if missing:
        raise ReaderError(
            f"impedance columns {missing} not decodable (unknown column ids {skipped})", path
        )
    order = [c for c in _ROLE_OF if c in cols]
    table = np.column_stack([cols[c] for c in order])
    # Modulo Bat: rows of the non-impedance steps (GCPL, rest, ...) have no frequency
    eis = cols[32] > 0
    if not eis.all():
        if not eis.any():
            raise ReaderError(
                f"no impedance rows: the frequency column is 0 in all {n} rows "
                f"({meta.get('technique', 'unknown technique')})",
                path,
            )
        meta["non_eis_rows_skipped"] = int((~eis).sum())
        table = table[eis]
        row_index = np.flatnonzero(eis)
    else:
        row_index = np.arange(n)
    roles = Roles(
        index={_ROLE_OF[c]: k for k, c in enumerate(order)},
        names=[COLUMNS[c][0] for c in order],
        current_mA=True,
    )
    loops = by_name.get("VMP loop")
    if loops is not None and len(loops["data"]) >= 4:
        ld = loops["data"]
        count = struct.unpack("<I", ld[:4])[0]
        count = min(count, (len(ld) - 4) // 4)
        starts = np.frombuffer(ld, "<u4", count=count, offset=4).astype(np.int64)
        bounds = np.union1d(np.clip(starts, 0, n), [0, n])
        loop_id = np.zeros(n)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            loop_id[a:b] = k
        table = np.column_stack([table, loop_id[row_index]])
        roles.index["loop"] = table.shape[1] - 1
        roles.names.append("loop")
    return build_spectra(table, roles, path, FORMAT, meta, sign_fix=sign_fix)
