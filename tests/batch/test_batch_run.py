"""End-to-end batch runs with the real fitter on simulated spectra with known growth."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_synth import FREQ, make_folder, MODEL, PATTERN, run_batch as _run, truth, write_spectrum

import eisfit as ef
from eisfit.batch.inputs import file_hash

STABLE = ["file", "spectrum", "parameter", "value", "stderr", "ci_low", "ci_high", "at_bound"]


def test_recovers_parameters_and_growth(cycling_folder, tmp_path):
    res = _run(cycling_folder, tmp_path / "out", groups={"interfacial": ["R1", "R2"]})
    assert res.failures.empty and (res.spectra["status"] == "ok").all()
    assert set(res.spectra["cell"]) == {"cell0", "cell1"}
    p = res.parameters
    for (cell, cycle), sub in p.groupby(["cell", "cycle"]):
        t = truth(int(cell[-1]), int(cycle))
        v = sub.set_index("parameter")["value"]
        for name in ("R0", "R1", "R2"):
            assert v[name] == pytest.approx(t[name], rel=0.03), (cell, cycle, name)
    g = res.growth.set_index(["cell", "parameter"])
    for cell in ("cell0", "cell1"):
        for name, slope in (("R1", 1.5), ("R2", 4.0), ("interfacial", 5.5)):
            row = g.loc[(cell, name)]
            assert row["x"] == "cycle" and row["n"] == 6
            assert row["slope"] == pytest.approx(slope, rel=0.05)
            assert row["slope_ci_low"] <= slope <= row["slope_ci_high"]
        t1, t6 = truth(int(cell[-1]), 1), truth(int(cell[-1]), 6)
        assert g.loc[(cell, "R2"), "change"] == pytest.approx(t6["R2"] - t1["R2"], rel=0.1)
    # tidy table columns promised by the issue
    for col in ["file", "spectrum", "cell", "cycle", "parameter", "value", "stderr", "ci_low",
                "ci_high", "unit", "at_bound"]:
        assert col in p.columns
    assert (p.loc[p["parameter"] == "R1", "unit"] == "Ω").all()
    # characteristic frequency of each arc (SEEDS: f_peak = 1/(2π (R Q)^(1/n)))
    row = p[(p["cell"] == "cell0") & (p["cycle"] == 3)].set_index("parameter")
    t = truth(0, 3)
    f2 = 1 / (2 * np.pi * (t["R2"] * t["Q2_Q"]) ** (1 / t["Q2_n"]))
    assert row.loc["f_peak[R2|Q2]", "value"] == pytest.approx(f2, rel=0.05)
    assert row.loc["f_peak[R2|Q2]", "kind"] == "derived" and row.loc["f_peak[R2|Q2]", "unit"] == "Hz"
    # warm start used after the first spectrum of each chunk
    assert res.spectra["warm_start"].sum() == len(res.spectra) - 2


def test_outputs_written_atomically_with_run_json(cycling_folder, tmp_path):
    out = tmp_path / "out"
    res = _run(cycling_folder, out)
    names = {p.name for p in out.iterdir()}
    assert {"parameters.csv", "parameters.parquet", "spectra.csv", "growth.csv", "run.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    info = json.loads((out / "run.json").read_text())
    assert info["eisfit_version"] == ef.__version__
    assert info["options"]["pattern"] == PATTERN
    hashes = {d["file"]: d["hash"] for d in info["inputs"]}
    assert hashes["cell1_cycle3.csv"] == file_hash(cycling_folder / "cell1_cycle3.csv")
    csv = pd.read_csv(out / "parameters.csv")
    pq = pd.read_parquet(out / "parameters.parquet")
    assert len(csv) == len(pq) == len(res.parameters)
    np.testing.assert_allclose(csv["value"], res.parameters["value"])


def test_bad_files_are_recorded_and_batch_goes_on(cycling_folder, tmp_path):
    (cycling_folder / "empty.csv").write_text("")
    (cycling_folder / "corrupt.csv").write_text("freq_Hz,z_real_ohm,z_imag_ohm\n1e3,abc,\x00\x01\n")
    (cycling_folder / "notes.md").write_text("# lab notes\nnot a spectrum\n")
    (cycling_folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    res = _run(cycling_folder, tmp_path / "out")
    failed = set(res.failures["file"])
    assert failed == {"empty.csv", "corrupt.csv", "notes.md", "image.png"}
    assert res.failures["error"].str.len().min() > 10
    assert (res.failures["stage"] == "read").all()
    assert (res.spectra["status"] == "ok").sum() == 12
    on_disk = pd.read_csv(tmp_path / "out" / "spectra.csv")
    assert set(on_disk.loc[on_disk["status"] == "failed", "file"]) == failed


def test_incremental_rerun_fits_only_new_or_changed(cycling_folder, tmp_path):
    out = tmp_path / "out"
    first = _run(cycling_folder, out)
    assert first.n_fitted == 12
    again = _run(cycling_folder, out)
    assert again.n_fitted == 0 and again.n_cached == 12
    pd.testing.assert_frame_equal(first.parameters[STABLE], again.parameters[STABLE])
    # a new cycle and a changed file
    write_spectrum(cycling_folder / "cell0_cycle7.csv",
                   ef.simulate(MODEL, FREQ, truth(0, 7), noise=0.003, seed=7))
    write_spectrum(cycling_folder / "cell1_cycle2.csv",
                   ef.simulate(MODEL, FREQ, truth(1, 2), noise=0.003, seed=999))
    third = _run(cycling_folder, out)
    status = third.files.set_index("file")["status"]
    assert set(status[status == "fitted"].index) == {"cell0_cycle7.csv", "cell1_cycle2.csv"}
    assert third.n_cached == 11
    # options that change results invalidate the cache
    assert _run(cycling_folder, out, fmin=0.5).n_fitted == 13


def test_killed_run_resumes_to_the_same_tables(tmp_path):
    folder = make_folder(tmp_path / "data", cells=2, cycles=15)
    ref = _run(folder, tmp_path / "ref", chunk_size=4)
    out = tmp_path / "out"
    script = textwrap.dedent(
        f"""
        import eisfit as ef, eisfit.batch.worker as w, time
        orig = w.run_task
        def slow(task):
            time.sleep(0.3)
            return orig(task)
        w.run_task = slow
        import eisfit.batch.pipeline as core
        core.run_task = slow
        ef.batch.run({str(folder)!r}, {MODEL!r}, out={str(out)!r}, pattern={PATTERN!r},
                     n_jobs=1, chunk_size=4, report=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    cache = out / ".eisfit-cache"
    deadline = time.time() + 60
    while time.time() < deadline:
        n = len(list(cache.rglob("*.json"))) if cache.exists() else 0
        if n >= 6:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(cache.rglob("*.json")))
    assert 6 <= done < 30, "the run must be killed part-way"
    assert not (out / "parameters.csv").exists()
    resumed = _run(folder, out, chunk_size=4)
    assert resumed.n_cached == done and resumed.n_fitted == 30 - done
    pd.testing.assert_frame_equal(ref.parameters[STABLE], resumed.parameters[STABLE])
    pd.testing.assert_frame_equal(
        ref.growth.drop(columns=[]), resumed.growth, check_exact=False, rtol=1e-12
    )


def test_model_per_state_with_arc_appearing(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    before = ef.preset("polymer_nmc_before").circuit
    after = ef.preset("polymer_nmc_after").circuit
    vb = {"R_bulk": 56.0, "Q_bulk_Q": 1e-7, "Q_bulk_n": 0.9, "R_sei": 175.0, "Q_sei_Q": 1e-6,
          "Q_sei_n": 0.8}
    # SEEDS §1 Table 2, xPEO before/after 20 cycles (Ω); time constants spread over the band
    va = {"R_bulk": 52.0, "Q_bulk_Q": 1e-7, "Q_bulk_n": 0.9, "R_sei": 454.0, "Q_sei_Q": 1e-6,
          "Q_sei_n": 0.8, "R_rs": 2064.0, "Q_rs_Q": 1e-5, "Q_rs_n": 0.8, "Wo_d_R": 300.0,
          "Wo_d_tau": 100.0}
    f = np.logspace(6, -2, 60)
    write_spectrum(folder / "xPEO_before.csv", ef.simulate(before, f, vb, noise=0.002, seed=1))
    write_spectrum(folder / "xPEO_after.csv", ef.simulate(after, f, va, noise=0.002, seed=2))
    res = ef.batch.run(folder, {"before": "polymer_nmc_before", "*": "polymer_nmc_after"},
                       pattern="{cell}_{state}", out=tmp_path / "o", n_jobs=1, report=False,
                       sidecar=_sidecar(tmp_path, "cell,area\nxPEO,0.97\n"))
    p = res.parameters.set_index(["state", "parameter"])["value"]
    assert p[("before", "R_sei")] == pytest.approx(175, rel=0.05)
    assert ("before", "R_rs") not in p.index
    assert p[("after", "R_rs")] == pytest.approx(2064, rel=0.05)
    # SEEDS §1 Table 2: interfacial = SEI_D+CEI_D + CEI_RS = 454 + 2064 = 2518 Ω after cycling
    assert p[("after", "interfacial")] == pytest.approx(2518, rel=0.05)
    assert p[("before", "interfacial")] == pytest.approx(175, rel=0.05)
    g = res.growth.set_index("parameter")
    assert g.loc["interfacial", "change"] == pytest.approx(2518 - 175, rel=0.06)
    assert g.loc["interfacial", "area_cm2"] == 0.97
    assert g.loc["interfacial", "last_ohm_cm2"] == pytest.approx(2518 * 0.97, rel=0.05)
    assert set(res.spectra["model"]) == {"polymer_nmc_before", "polymer_nmc_after"}


def _sidecar(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "side.csv"
    p.write_text(text)
    return p


def test_multi_spectrum_file_is_one_ordered_cell(tmp_path):
    # a wide table: one row per spectrum (SEEDS §3: one file, many spectra by SOC)
    f = FREQ
    rows = []
    for k in range(1, 5):
        z = ef.simulate(MODEL, f, truth(0, k), noise=0.002, seed=k).Z
        rows.append([k] + list(z.real) + list(-z.imag))
    cols = ["cycle"] + [f"ZReal_{x:.6g}Hz" for x in f] + [f"ZImag_{x:.6g}Hz" for x in f]
    folder = tmp_path / "w"
    folder.mkdir()
    pd.DataFrame(rows, columns=cols).to_csv(folder / "seq.csv", index=False)
    spectra = ef.read(folder / "seq.csv")
    if len(spectra) != 4:
        pytest.fail(f"wide-table reader returned {len(spectra)} spectra")
    res = ef.batch.run(folder, MODEL, n_jobs=1, report=False)
    assert list(res.spectra["spectrum"]) == [0, 1, 2, 3]
    assert set(res.spectra["cell"]) == {"w"}
    r2 = res.parameters[res.parameters["parameter"] == "R2"]["value"].to_numpy()
    np.testing.assert_allclose(r2, [truth(0, k)["R2"] for k in range(1, 5)], rtol=0.03)


def test_parallel_processes_give_the_same_tables(cycling_folder, tmp_path):
    serial = _run(cycling_folder, None, chunk_size=3)
    par = _run(cycling_folder, None, chunk_size=3, n_jobs=2)
    assert par.options["executor"] == "processes"
    pd.testing.assert_frame_equal(serial.parameters[STABLE], par.parameters[STABLE])


def test_dask_local_cluster(cycling_folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = _run(cycling_folder, None, chunk_size=3)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = _run(cycling_folder, tmp_path / "o", chunk_size=3, scheduler=client)
            assert res.options["executor"] == "dask"
            by_address = _run(cycling_folder, None, chunk_size=3, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial.parameters[STABLE], res.parameters[STABLE])
    pd.testing.assert_frame_equal(serial.parameters[STABLE], by_address.parameters[STABLE])


def test_usage_errors_raise(tmp_path):
    with pytest.raises(ef.EisfitError):
        ef.batch.run(tmp_path / "missing", MODEL)
    with pytest.raises(ef.EisfitError):
        ef.batch.run(tmp_path, "R0 - (R1 |")
    with pytest.raises(ef.EisfitError):
        ef.batch.run(tmp_path, MODEL, pattern="nofields")


def test_report_is_self_contained(cycling_folder, tmp_path):
    import re

    out = tmp_path / "out"
    res = _run(cycling_folder, out, report=True)
    page = (out / "report.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # breakdown + per cell (Nyquist, DRT or not, resistances)
    assert len(imgs) >= 1 + 2 * 2
    import base64

    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    assert not re.search(r"(src|href)=[\"']https?://", page)  # nothing fetched from a network
    figs = {p.name for p in (out / "figures").iterdir()}
    assert {"breakdown.png", "cell0_nyquist.png", "cell0_resistances.png",
            "cell1_drt.png"} <= figs
    for cell in ("cell0", "cell1"):
        assert f"Cell {cell}" in page
    assert res.growth["parameter"].isin(["R1"]).any()


def test_report_figures_drawn_by_worker_processes_equal_the_serial_ones(cycling_folder,
                                                                        tmp_path):
    """With two worker processes the figures are drawn there (render_figure): the same
    files, byte for byte, and the same page as a run in one process."""
    import re

    outs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        _run(cycling_folder, out, report=True, n_jobs=n)
        outs[n] = out
    figs = {n: {p.name: p.read_bytes() for p in (o / "figures").iterdir()} for n, o in outs.items()}
    assert figs[1].keys() == figs[2].keys() and len(figs[1]) >= 5
    assert all(figs[1][k] == figs[2][k] for k in figs[1])
    pages = [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", (o / "report.html").read_text())
             for o in outs.values()]
    assert pages[0] == pages[1]


def test_plot_helpers_draw_data_and_fit():
    from eisfit.plot import bode, nyquist, pyplot

    s = ef.simulate(MODEL, FREQ, truth(0, 1))
    ax = nyquist(s, fit=(s.freq, s.Z))
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, s.Z.real)
    np.testing.assert_allclose(y, -s.Z.imag)  # −Z'' upwards
    a1, a2 = bode(s)
    np.testing.assert_allclose(a1.lines[0].get_ydata(), np.abs(s.Z))
    pyplot().close("all")


def test_auto_model_is_one_common_model_per_cell(tmp_path):
    folder = make_folder(tmp_path / "d", cells=1, cycles=4, noise=0.002)
    res = ef.batch.run(folder, "auto", pattern=PATTERN, n_jobs=1, report=False, kk=False)
    auto = res.options["auto_models"]
    assert set(auto) == {"cell0"}
    c = ef.parse(auto["cell0"])
    assert sum(e.kind == "R" for e in c.elements) >= 3  # series R + two arcs
    assert res.spectra["model"].nunique() == 1  # parameters stay comparable along the cell
    assert (res.spectra["status"] != "failed").all()
    total = res.parameters[res.parameters["parameter"] == "total"].sort_values("cycle")
    expected = [sum(truth(0, k)[p] for p in ("R0", "R1", "R2")) for k in range(1, 5)]
    np.testing.assert_allclose(total["value"], expected, rtol=0.05)


def test_progress_bar_counts_files(cycling_folder, capsys):
    pytest.importorskip("tqdm")
    _run(cycling_folder, None, progress=True)
    err = capsys.readouterr().err
    assert "12/12" in err


def test_failing_optional_output_is_recorded_and_tables_kept(cycling_folder, tmp_path,
                                                            monkeypatch):
    import eisfit.batch.report as report

    def broken(*a, **k):
        raise RuntimeError("figure exploded")

    monkeypatch.setattr(report, "write_report", broken)
    out = tmp_path / "out"
    res = _run(cycling_folder, out, report=True)
    assert (res.spectra["status"] == "ok").all()
    for name in ("parameters.csv", "spectra.csv", "growth.csv", "failures.csv", "run.json",
                 "parameters.parquet"):
        assert (out / name).is_file(), name
    assert not (out / "report.html").exists()
    notes = json.loads((out / "run.json").read_text())["notes"]
    assert notes == ["report.html not written: RuntimeError: figure exploded"]
    assert "figure exploded" in res.summary()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_figure_that_cannot_be_drawn_is_named_and_the_report_stands(cycling_folder, tmp_path,
                                                                      monkeypatch, n_jobs):
    """One broken figure builder: drawn in this process (1 job) or by the workers while
    the tables are built (2 jobs, forked with the patch). The page and every other figure
    are written; the missing figure is named in the page and in run.json."""
    import eisfit.batch.report as report

    def broken(*a, **k):
        raise RuntimeError("trend exploded")

    monkeypatch.setitem(report._BUILDERS, "trend", broken)
    out = tmp_path / "out"
    with pytest.warns(ef.EisfitWarning, match="cell0_resistances not drawn"):
        _run(cycling_folder, out, report=True, n_jobs=n_jobs)
    figs = {p.name for p in (out / "figures").iterdir()}
    assert {"breakdown.png", "cell0_nyquist.png", "cell1_nyquist.png"} <= figs
    assert not any(f.endswith("_resistances.png") for f in figs)
    notes = json.loads((out / "run.json").read_text())["notes"]
    assert sorted(notes) == [f"figure {c}_resistances not drawn: RuntimeError: trend exploded"
                             for c in ("cell0", "cell1")]
    page = (out / "report.html").read_text()
    assert "figure cell1_resistances not drawn: RuntimeError: trend exploded" in page


def test_cells_from_a_column_inside_one_wide_file(tmp_path):
    """One file, two cells told apart only by a column of the file itself; each cell's
    spectra are a sequence of their own, fitted in chunks (in parallel when asked)."""
    rows = []
    for cell in (1, 2):
        for k in range(1, 7):
            spec = ef.simulate(MODEL, FREQ, truth(cell - 1, k), noise=0.002, seed=10 * cell + k)
            rows.append({"seriesIdx": cell, "cycle": k,
                         **{f"ZReal_{f:g}Hz": z.real for f, z in zip(spec.freq, spec.Z)},
                         **{f"ZImag_{f:g}Hz": z.imag for f, z in zip(spec.freq, spec.Z)}})
    folder = tmp_path / "w"
    folder.mkdir()
    pd.DataFrame(rows).sample(frac=1, random_state=0).to_csv(folder / "wide.csv", index=False)
    serial = ef.batch.run(folder, MODEL, cell_column="seriesIdx", order_by="cycle", n_jobs=1,
                          chunk_size=4, report=False)
    par = ef.batch.run(folder, MODEL, cell_column="seriesIdx", order_by="cycle", n_jobs=2,
                       chunk_size=4, report=False)
    assert set(serial.growth["cell"]) == {"1", "2"}
    g = serial.growth.set_index(["cell", "parameter"])
    for cell in ("1", "2"):
        assert g.loc[(cell, "R2"), "slope"] == pytest.approx(4.0, rel=0.05)
        assert g.loc[(cell, "R2"), "x"] == "cycle"
    sp = serial.spectra
    assert list(sp[sp["seriesIdx"] == 1]["cycle"]) == [1, 2, 3, 4, 5, 6]
    pd.testing.assert_frame_equal(serial.parameters[STABLE], par.parameters[STABLE])


def test_growth_is_taken_cell_by_cell_as_from_the_whole_table(tmp_path):
    """The run takes growth one cell at a time (it keeps no table of every spectrum): the
    result equals :func:`ef.batch.growth` of the whole parameters table read back, cells
    in natural order (cell2 before cell10)."""
    folder = make_folder(tmp_path / "d", cells=3, cycles=5)
    for f in folder.glob("cell2_*"):  # a cell name that sorts differently as text
        f.rename(f.with_name(f.name.replace("cell2_", "cell10_")))
    r = _run(folder, tmp_path / "out")
    whole = ef.batch.growth(pd.read_csv(tmp_path / "out" / "parameters.csv"))
    assert list(r.growth["cell"].astype(str)) == list(whole["cell"].astype(str))
    assert list(dict.fromkeys(r.growth["cell"].astype(str))) == ["cell0", "cell1", "cell10"]
    pd.testing.assert_frame_equal(r.growth.reset_index(drop=True), whole.reset_index(drop=True),
                                  check_dtype=False, check_like=True)


def test_a_run_where_every_fit_is_poor_still_writes_its_report(tmp_path):
    """One arc fitted to two-arc spectra: every fit is poor, growth is empty, and the report
    is still written (no note that it was not), its breakdown left out."""
    folder = make_folder(tmp_path / "d", cells=2, cycles=3)
    r = ef.batch.run(folder, "R0 - (R1 | C1)", out=tmp_path / "out", pattern=PATTERN, n_jobs=1)
    assert not r.spectra["success"].astype(bool).any()
    assert len(r.growth) == 0
    assert (tmp_path / "out" / "report.html").exists(), r.notes
    assert not any("report" in n for n in r.notes), r.notes
    assert not (tmp_path / "out" / "figures" / "breakdown.png").exists()


def test_auto_model_skips_files_at_the_ends_that_hold_no_spectrum(tmp_path):
    """A lab folder whose cell starts with an instrument settings file and ends with a
    text file of numbers that is not a spectrum: the automatic model comes from the first
    and last spectra that can be read, and every spectrum of the cell is fitted with it."""
    folder = make_folder(tmp_path / "d", cells=1, cycles=4, noise=0.002)
    (folder / "cell0_cycle0.csv").write_text("technique,PEIS\nloops,4\n")  # sorts first
    (folder / "cell0_cycle9.csv").write_text("time_s,voltage_V\n0,3.7\n1,3.6\n")  # last
    res = ef.batch.run(folder, "auto", pattern=PATTERN, n_jobs=1, report=False, kk=False)
    assert set(res.options["auto_models"]) == {"cell0"}
    c = ef.parse(res.options["auto_models"]["cell0"])
    assert sum(e.kind == "R" for e in c.elements) >= 3  # series R + two arcs
    fitted = res.spectra[res.spectra["status"] != "failed"]
    assert sorted(fitted["cycle"]) == [1, 2, 3, 4]
    assert set(res.failures["file"]) == {"cell0_cycle0.csv", "cell0_cycle9.csv"}


def test_auto_model_search_moves_inwards_past_files_not_past_failed_proposals(tmp_path,
                                                                              monkeypatch):
    """Unreadable files at an end are skipped; a spectrum that is read but cannot be
    proposed for ends the search at that end (one proposal per end, not one per file)."""
    from eisfit.batch import worker

    folder = make_folder(tmp_path / "d", cells=1, cycles=6, noise=0.002)
    bad = folder / "cell0_cycle0.csv"
    bad.write_text("technique,PEIS\n")
    files = [bad] + sorted(folder.glob("cell0_cycle[1-6].csv"),
                           key=lambda f: int(f.stem.split("cycle")[1]))
    front = tuple((str(f), 0) for f in files)
    back = tuple((str(f), -1) for f in reversed(files))
    calls = []

    def failing(spec):
        calls.append(spec)
        raise ef.FitError("no peak")

    monkeypatch.setattr(worker, "propose", failing)
    out = worker.propose_task((front, back))
    assert len(calls) == 2 and out["text"] is None
    assert "no peak" in out["error"] and "cell0_cycle0.csv" in out["error"]
