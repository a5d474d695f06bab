"""One known spectrum written in every format eisfit can produce here, read back equal.

Each writer below follows the layout its reader documents (for the binary ones, the
layouts observed in the public sample files); the comparison tolerance is the precision
the writer prints (or the float32 of .mpr).
"""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pytest

import eisfit as ef

F = np.logspace(5, -2, 50)  # 100 kHz -> 10 mHz
W = 2 * np.pi * F
Z = (
    0.02
    + 0.015 / (1 + (1j * W * 0.012) ** 0.85)
    + 0.02 / (1 + 1j * W * 0.9)
    + 0.003 / np.sqrt(1j * W)
)


def e(x: float, d: int = 7) -> str:
    return f"{x:.{d}E}"


def _si(x: float) -> str:
    """Zahner-style value with an SI suffix and 3 decimals (735.948m, 3.588k)."""
    for exp, p in ((9, "G"), (6, "M"), (3, "k"), (0, ""), (-3, "m"), (-6, "u"), (-9, "n")):
        if abs(x) >= 10.0**exp or exp == -9:
            return f"{x / 10.0**exp:.3f}{p}"
    return f"{x:.3f}"


def w_csv(p):
    p.write_text(
        "freq,Z',Z''\n" + "\n".join(f"{e(f)},{e(z.real)},{e(z.imag)}" for f, z in zip(F, Z))
    )


def w_csv_neg(p):
    p.write_text(
        "Frequency (Hz);Z' (Ohm);-Z'' (Ohm)\n"
        + "\n".join(f"{e(f)};{e(z.real)};{e(-z.imag)}" for f, z in zip(F, Z))
    )


def w_csv_comma(p):
    p.write_text(
        "freq/Hz\tZre/Ohm\tZim/Ohm\n"
        + "\n".join(f"{e(f)}\t{e(z.real)}\t{e(z.imag)}".replace(".", ",") for f, z in zip(F, Z))
    )


def w_headerless(p):
    p.write_text("\n".join(f"  {e(f)}  {e(z.real)}  {e(z.imag)}" for f, z in zip(F, Z)))


def w_eclab_headerless(p):
    t = np.cumsum(1 + 2 / F)
    p.write_text(
        "\n".join(
            f"{t[k]:>16.6f}\t{1:>3d}\t{e(F[k]):>15}\t{e(Z[k].real):>15}\t{e(-Z[k].imag):>15}\t"
            f"{e(abs(Z[k])):>15}\t{np.degrees(np.angle(Z[k])):>12.7f}"
            for k in range(F.size)
        )
    )


def w_polar_deg(p):
    p.write_text(
        "Frequency;Impedance;Phase\n"
        + "\n".join(f"{e(f)};{e(abs(z))};{e(np.degrees(np.angle(z)))}" for f, z in zip(F, Z))
    )


def w_polar_rad(p):
    p.write_text(
        "f,|Z|,phase/rad\n"
        + "\n".join(f"{e(f)},{e(abs(z))},{e(np.angle(z))}" for f, z in zip(F, Z))
    )


def w_zahner_si(p):
    p.write_text(
        "Frequency;Impedance;Phase\n"
        + "\n".join(f"{_si(f)};{_si(abs(z))};{_si(np.degrees(np.angle(z)))}" for f, z in zip(F, Z))
    )


def _frame():
    import pandas as pd

    return pd.DataFrame({"Frequency (Hz)": F, "Z' (Ohm)": Z.real, "-Z'' (Ohm)": -Z.imag})


def w_xlsx(p):
    pytest.importorskip("openpyxl")
    _frame().to_excel(p, index=False, engine="openpyxl")


def w_ods(p):
    pytest.importorskip("odf")
    _frame().to_excel(p, index=False, engine="odf")


def w_mpt(p):
    names = [
        "freq/Hz",
        "Re(Z)/Ohm",
        "-Im(Z)/Ohm",
        "|Z|/Ohm",
        "Phase(Z)/deg",
        "time/s",
        "cycle number",
    ]
    head = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 5",
        "",
        "Potentio Electrochemical Impedance Spectroscopy",
        "\t".join(names),
    ]
    rows = [
        "\t".join(
            [e(f), e(z.real), e(-z.imag), e(abs(z)), e(np.degrees(np.angle(z))), e(1.0 + k), e(1.0)]
        )
        for k, (f, z) in enumerate(zip(F, Z))
    ]
    p.write_bytes("\r\n".join(head + rows).encode("latin-1"))


def w_gamry(p):
    head = [
        "EXPLAIN",
        "TAG\tEISPOT",
        "TITLE\tLABEL\tPotentiostatic EIS\tTest &Identifier",
        f"ZCURVE\tTABLE\t{F.size}",
        "\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange",
        "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#",
    ]
    rows = [
        f"\t{k}\t{k + 1}\t{e(f)}\t{e(z.real)}\t{e(z.imag)}\t1\t{e(abs(z))}\t"
        f"{e(np.degrees(np.angle(z)))}\t1E-6\t3.7\t10"
        for k, (f, z) in enumerate(zip(F, Z))
    ]
    p.write_bytes("\n".join(head + rows).encode("latin-1"))


def w_ivium(p):
    body = "".join(f"{e(z.real, 5)}  {e(z.imag, 5)} {e(f, 5)} \r\n" for f, z in zip(F, Z))
    p.write_bytes(
        b"\x00" * 16
        + b"@\x01\x00\x00\r\x00Version=12\r\nMethod=Impedance\r\n"
        + f"Data Objects    \r\nprimary_data    \r\n3         \r\n{F.size:<10d}\r\n{body}".encode()
    )


def w_pssession(p):
    def arr(desc, v):
        return {
            "Type": "PalmSens.Data.DataArray",
            "Description": desc,
            "DataValues": [{"V": float(x)} for x in v],
        }

    ds = {"Values": [arr("Frequency", F), arr("ZRe", Z.real), arr("ZIm", -Z.imag)]}
    doc = {
        "Type": "PalmSens.DataFiles.SessionFile",
        "Measurements": [{"Title": "x", "EISDataList": [{"Title": "CH 1", "DataSet": ds}]}],
    }
    p.write_bytes(json.dumps(doc).encode("utf-16") + "\ufeff".encode("utf-16-le"))


def w_ism(p):
    n = F.size
    raw = b"\x00\x00\xff\xff\xff\xfe" + (n - 1).to_bytes(6, "big")
    for a in (F, np.abs(Z), np.angle(Z), 1.3e9 + np.arange(n)):
        raw += np.asarray(a, ">f8").tobytes()
    raw += np.full(n, 1000, ">i2").tobytes()
    for s in ("011225", "TEST", "3.7V, Ampl: 5mV", "0A", "25.0+-0.1C", "", "", "", "", ""):
        b = s.swapcase().encode()
        raw += struct.pack(">H", len(b)) + b
    p.write_bytes(raw)


def w_mpr(p):
    ids = [32, 37, 38, 36, 35, 4, 24]
    dt = np.dtype(
        [
            ("f", "<f4"),
            ("re", "<f4"),
            ("im", "<f4"),
            ("m", "<f4"),
            ("ph", "<f4"),
            ("t", "<f8"),
            ("c", "<f8"),
        ]
    )
    rec = np.zeros(F.size, dt)
    rec["f"], rec["re"], rec["im"] = F, Z.real, -Z.imag
    rec["m"], rec["ph"], rec["t"], rec["c"] = abs(Z), np.degrees(np.angle(Z)), np.arange(F.size), 1

    def module(short, data, version):
        return (
            b"MODULE"
            + short.encode().ljust(10)
            + short.encode().ljust(25)
            + b"\xff" * 4
            + struct.pack("<III", len(data), 0, version)
            + b"01/12/26"
            + data
        )

    head = struct.pack("<IH", F.size, len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    data = head.ljust(0x3EF, b"\x00") + rec.tobytes()
    raw = b"BIO-LOGIC MODULAR FILE\x1a".ljust(52, b" ")
    raw += module("VMP Set", bytes([0x1D]) + b"\x00" * 100, 0) + module("VMP data", data, 11)
    p.write_bytes(raw)


# writer, file name, expected format, relative precision of what was written
WRITERS = [
    (w_csv, "a.csv", "table", 1e-7),
    (w_csv_neg, "b.csv", "autolab", 1e-7),  # NOVA-style header
    (w_csv_comma, "c.txt", "table", 1e-7),
    (w_headerless, "d.dat", "table", 1e-7),
    (w_eclab_headerless, "e.txt", "table", 1e-7),
    (w_polar_deg, "g.csv", "table", 1e-7),
    (w_polar_rad, "h.csv", "table", 1e-7),
    (w_zahner_si, "i.csv", "table", 2e-3),
    (w_xlsx, "j.xlsx", "excel", 1e-12),
    (w_ods, "k.ods", "ods", 1e-12),
    (w_mpt, "l.mpt", "biologic-mpt", 1e-7),
    (w_gamry, "m.DTA", "gamry-dta", 1e-7),
    (w_ivium, "n.idf", "ivium", 1e-5),
    (w_pssession, "o.pssession", "palmsens-pssession", 1e-12),
    (w_ism, "p.ism", "zahner-ism", 1e-12),
    (w_mpr, "q.mpr", "biologic-mpr", 2e-7),
]


@pytest.mark.parametrize("writer,name,fmt,prec", WRITERS, ids=[w[1] for w in WRITERS])
def test_one_spectrum_in_every_format(tmp_path, writer, name, fmt, prec):
    p = tmp_path / name
    writer(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ef.EisfitWarning)  # read cleanly: nothing repaired
        spectra = ef.read(p)
    assert len(spectra) == 1
    s = spectra[0]
    assert s.meta["format"] == fmt
    np.testing.assert_allclose(s.freq, F, rtol=prec)
    # polar forms spread the relative error of |Z| and phase over both parts
    assert np.all(np.abs(s.Z - Z) <= 3 * prec * np.abs(Z) + 1e-12), name
