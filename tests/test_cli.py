"""The eisfit command line: exit codes, the bundled example, single-file commands."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import eisfit as ef
from eisfit.cli import main


def test_batch_example_writes_tables_and_growth(tmp_path, capsys):
    out = tmp_path / "eisfit-out"
    assert main(["batch", "--example", "--out", str(out), "--no-report", "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "18 files, 18 spectra" in text
    spectra = pd.read_csv(out / "spectra.csv")
    assert len(spectra) == 18 and set(spectra["cell"]) == {"25C01", "25C02", "25C05"}
    assert spectra["status"].isin(["ok", "poor_fit"]).all()
    # sidecar metadata (capacity per cycle) reached the tables
    assert "capacity_mAh" in spectra.columns
    first = spectra[(spectra["cell"] == "25C01") & (spectra["cycle"] == 1)]
    assert first["capacity_mAh"].iloc[0] == pytest.approx(37.2027)
    growth = pd.read_csv(out / "growth.csv")
    assert {"R0", "R1", "R2", "interfacial"} <= set(growth["parameter"])
    # the SEI/charge-transfer arcs of these cells grow as the capacity fades (Zhang 2020)
    inter = growth[growth["parameter"] == "interfacial"].set_index("cell")
    assert inter.loc["25C01", "change"] > 0 and inter.loc["25C05", "change"] > 0
    # ... and agree with the Nyquist plots, read off the data without any fit: the width of
    # the arcs from the high-frequency intercept to the valley before the diffusion tail
    from eisfit.batch import example_folder

    folder, _ = example_folder()
    total = growth[growth["parameter"] == "total"].set_index("cell")
    for cell, row in inter.iterrows():
        for end in ("first", "last"):
            cycle = int(row[f"x_{end}"])
            r_hf, width = _arcs(ef.read(folder / f"{cell}_cycle{cycle}.csv")[0])
            assert row[end] == pytest.approx(width, rel=0.2), (cell, end)
            assert total.loc[cell, end] == pytest.approx(r_hf + width, rel=0.2), (cell, end)
    assert abs(inter.loc["25C02", "change_pct"]) < 10
    assert inter.loc["25C05", "change_pct"] > inter.loc["25C01", "change_pct"] > 20


def _arcs(spec):
    """High-frequency intercept (Im Z = 0) and the width in Re Z from there to the
    low-frequency valley of −Im Z (where the diffusion tail begins)."""
    order = np.argsort(spec.freq)[::-1]
    f, z = spec.freq[order], spec.Z[order]
    k = np.nonzero((z.imag[:-1] > 0) & (z.imag[1:] <= 0))[0][0]
    t = z.imag[k] / (z.imag[k] - z.imag[k + 1])
    r_hf = z.real[k] + t * (z.real[k + 1] - z.real[k])
    low = np.nonzero(f < 10)[0]
    return r_hf, z.real[low[np.argmax(z.imag[low])]] - r_hf


def test_batch_usage_errors_exit_2(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope"), "--model", "R0", "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "--model", "R0 - (R1 |", "--out", str(tmp_path / "o")]) == 2
    assert main(["batch", "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["batch", "--jobs", "many"])
    assert e.value.code == 2


def test_batch_failures_exit_0_or_1_with_strict(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    s = ef.simulate("R0 - (R1 | Q1)", [1e4, 1e3, 1e2, 10, 1, 0.1],
                    {"R0": 1, "R1": 10, "Q1_Q": 1e-3, "Q1_n": 0.9})
    (d / "good.csv").write_text("freq_Hz,z_real_ohm,z_imag_ohm\n" + "\n".join(
        f"{f},{z.real},{z.imag}" for f, z in zip(s.freq, s.Z)))
    (d / "bad.csv").write_text("garbage\n")
    args = ["batch", str(d), "--model", "R0 - (R1 | Q1)", "--out", str(tmp_path / "o"),
            "--no-report", "--no-kk"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "FAILED bad.csv" in out and "1 failed" in out
    assert main(args + ["--strict"]) == 1


def test_circuits_lists_presets(capsys):
    assert main(["circuits"]) == 0
    text = capsys.readouterr().out
    for name in ef.presets():
        assert name in text


def test_fit_single_file_prints_values(tmp_path, capsys):
    vals = {"R0": 5.0, "R1": 40.0, "Q1_Q": 1e-5, "Q1_n": 0.9}
    import numpy as np

    f = np.logspace(5, -1, 30)
    s = ef.simulate("R0 - (R1 | Q1)", f, vals)
    p = tmp_path / "one.csv"
    p.write_text("freq_Hz,z_real_ohm,z_imag_ohm\n" + "\n".join(
        f"{float(a)!r},{float(z.real)!r},{float(z.imag)!r}" for a, z in zip(s.freq, s.Z)))
    assert main(["fit", str(p), "--model", "R0 - (R1 | Q1)", "--json"]) == 0
    res = ef.FitResult.from_json(capsys.readouterr().out)
    assert res.values["R1"] == pytest.approx(40.0, rel=1e-6)
    assert main(["fit", str(p), "--model", "R0 - (R1 | Q1)", "--index", "3"]) == 2


def test_fit_takes_preset_names_and_refuses_foreign_text(tmp_path, capsys):
    """The CLI resolves preset names itself (ef.fit takes circuit text or Preset objects)."""
    import numpy as np

    truth = dict(R0=20, R_ct=200, Wo_d_R=300, Wo_d_tau=1.0, Q_dl_Q=1e-2**0.85 / 200, Q_dl_n=0.85)
    s = ef.simulate(ef.preset("randles"), np.logspace(5, -2, 40), truth)
    p = tmp_path / "one.csv"
    p.write_text("freq_Hz,z_real_ohm,z_imag_ohm\n" + "\n".join(
        f"{float(a)!r},{float(z.real)!r},{float(z.imag)!r}" for a, z in zip(s.freq, s.Z)))
    assert main(["fit", str(p), "--model", "randles", "--json"]) == 0
    res = ef.FitResult.from_json(capsys.readouterr().out)
    assert res.circuit == ef.preset("randles").circuit
    assert res.values["R_ct"] == pytest.approx(200, rel=1e-3)
    assert main(["fit", str(p), "--model", "R(RC)"]) == 2
    assert "ef.from_cdc('R(RC)')" in capsys.readouterr().err


def test_console_entry_point_runs_as_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "eisfit.cli", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("eisfit ")


def _example_file():
    from eisfit.batch import example_folder

    folder, _ = example_folder()
    return folder / "25C01_cycle1.csv"


def _write(path, f, Z):
    lines = ["freq_Hz,z_real_ohm,z_imag_ohm"] + [f"{a:.12g},{z.real:.12g},{z.imag:.12g}"
                                                 for a, z in zip(f, Z)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_kk_command_passes_a_consistent_spectrum_and_fails_a_drifting_one(tmp_path, capsys):
    import numpy as np

    f = np.logspace(5, -2, 71)
    w = 2 * np.pi * f
    t = np.linspace(0, 1, 71) ** 3  # fraction of the sweep elapsed (slow points last)
    rng = np.random.default_rng(2)
    noise = 1e-3 * (rng.standard_normal(71) + 1j * rng.standard_normal(71))
    good = 5 + 20 / (1 + (1j * w * 1e-4) ** 0.9) + 50 / (1 + (1j * w * 1e-1) ** 0.8)
    R2 = 50 * (1 + 0.15 * t)  # the slow resistance grows 15 % during the sweep
    bad = 5 + 20 / (1 + (1j * w * 1e-4) ** 0.9) + R2 / (1 + (1j * w * 1e-1 * R2 / 50) ** 0.8)
    assert main(["kk", str(_write(tmp_path / "good.csv", f, good * (1 + noise)))]) == 0
    assert "Kramers-Kronig PASS" in capsys.readouterr().out
    assert main(["kk", str(_write(tmp_path / "bad.csv", f, bad * (1 + noise)))]) == 0
    out = capsys.readouterr().out
    assert "Kramers-Kronig FAIL" in out and "lowest frequencies" in out


def test_drt_command_counts_the_peaks(tmp_path, capsys):
    import numpy as np

    f = np.logspace(5, -2, 71)
    w = 2 * np.pi * f
    Z = 5 + 20 / (1 + (1j * w * 1e-4) ** 0.9) + 50 / (1 + (1j * w * 1e-1) ** 0.8)
    assert main(["drt", str(_write(tmp_path / "two.csv", f, Z))]) == 0
    assert "2 peak(s)" in capsys.readouterr().out


def test_example_folder_ships_with_source_and_sidecar():
    from eisfit.batch import example_folder

    folder, table = example_folder()
    assert len(list(folder.glob("*_cycle*.csv"))) == 18
    assert (folder.parent / "SOURCE.md").read_text().count("MIT") >= 1
    side = pd.read_csv(table)
    assert set(side.columns) >= {"file", "cell", "cycle", "capacity_mAh"}
    # capacities are the Zhang 2020 values of these cycles (first cycle of 25C01: 37.2027 mAh)
    assert side.set_index("file").loc["25C01_cycle1.csv", "capacity_mAh"] == pytest.approx(37.2027)


def test_batch_model_per_state_and_group_options(tmp_path, capsys):
    import numpy as np

    d = tmp_path / "d"
    d.mkdir()
    f = np.logspace(5, -1, 36)
    one = {"R0": 5.0, "R1": 40.0, "Q1_Q": 1e-6, "Q1_n": 0.9}
    two = {**one, "R1": 45.0, "R2": 200.0, "Q2_Q": 1e-3, "Q2_n": 0.85}
    for name, model, vals in (("A_before", "R0 - (R1 | Q1)", one),
                              ("A_after", "R0 - (R1 | Q1) - (R2 | Q2)", two)):
        s = ef.simulate(model, f, vals, noise=0.002, seed=3)
        (d / f"{name}.csv").write_text("freq_Hz,z_real_ohm,z_imag_ohm\n" + "\n".join(
            f"{float(a)!r},{float(z.real)!r},{float(z.imag)!r}" for a, z in zip(s.freq, s.Z)))
    out = tmp_path / "o"
    code = main(["batch", str(d), "--model", "R0 - (R1 | Q1) - (R2 | Q2)",
                 "--model-for", "before=R0 - (R1 | Q1)", "--pattern", "{cell}_{state}",
                 "--group", "interfacial=R1+R2", "--out", str(out), "--no-report", "--no-kk"])
    assert code == 0
    p = pd.read_csv(out / "parameters.csv")
    inter = p[p["parameter"] == "interfacial"].set_index("state")["value"]
    assert inter["before"] == pytest.approx(40.0, rel=0.03)  # R2 absent before: counts as 0
    assert inter["after"] == pytest.approx(245.0, rel=0.03)
    g = pd.read_csv(out / "growth.csv").set_index("parameter")
    assert g.loc["interfacial", "first"] == pytest.approx(40.0, rel=0.03)  # before < after
    assert g.loc["interfacial", "change"] == pytest.approx(205.0, rel=0.05)
