"""``ef.batch.run(..., joint=True)``: each cell's sequence fitted with ``ef.fit_sequence``.

Ground truth: simulated cells whose resistances grow linearly with the cycle and whose CPE
exponents stay put (``batch_synth.truth``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from batch_synth import FREQ, make_folder, MODEL, PATTERN, run_batch as _run, truth, write_spectrum

import eisfit as ef
from eisfit.cli import main



def _errors(res, name):
    p = res.parameters[res.parameters["parameter"] == name]
    t = np.array([truth(int(c[-1]), int(k))[name] for c, k in zip(p["cell"], p["cycle"])])
    return np.abs(p["value"].to_numpy() / t - 1)


def test_joint_run_smooths_constant_exponents_and_beats_independent_fits(tmp_path):
    folder = make_folder(tmp_path / "data", cells=2, cycles=8, noise=0.02, seed=5)
    joint = _run(folder, tmp_path / "joint", joint=True)
    alone = _run(folder, tmp_path / "alone")
    # same tables, same rows: only the values differ
    assert list(joint.parameters.columns) == list(alone.parameters.columns)
    key = ["file", "parameter"]
    assert joint.parameters[key].sort_values(key).equals(alone.parameters[key].sort_values(key))
    assert (joint.spectra["status"] == "ok").all()
    # the CPE exponents (constant in the truth) stay per spectrum, but the smoothing keeps
    # them near their true value, steadier than spectrum-by-spectrum fits
    for name in ("Q1_n", "Q2_n"):
        t = truth(0, 1)[name]
        pj, pa = (r.parameters[r.parameters["parameter"] == name] for r in (joint, alone))
        assert (pj.groupby("cell")["value"].nunique() > 1).all()  # not shared by default
        assert np.abs(pj["value"] - t).max() < 0.02
        assert (pj.groupby("cell")["value"].std() < pa.groupby("cell")["value"].std()).all()
    # ... and the fitted resistances are closer to the truth than spectrum-by-spectrum fits
    for name in ("R1", "R2"):
        assert np.median(_errors(joint, name)) < np.median(_errors(alone, name))
    assert joint.options["joint"] is True


def test_user_shared_names_and_short_cells(tmp_path):
    folder = make_folder(tmp_path / "data", cells=1, cycles=6, noise=0.005, seed=1)
    for k in (1, 2):  # a second cell of two spectra: too short for a joint fit
        t = truth(0, k)
        write_spectrum(folder / f"short_cycle{k}.csv",
                       ef.simulate(MODEL, FREQ, t, noise=0.005, seed=40 + k))
    res = _run(folder, tmp_path / "out", joint=True, shared="R0, Q2_n")
    p = res.parameters.set_index(["cell", "cycle", "parameter"])["value"]
    assert p.xs("R0", level="parameter").loc["cell0"].nunique() == 1
    assert p.xs("Q1_n", level="parameter").loc["cell0"].nunique() == 6  # not shared now
    assert p.xs("Q2_n", level="parameter").loc["short"].nunique() == 2  # fitted one by one
    assert (res.spectra["status"] == "ok").all()


def test_a_bad_spectrum_in_a_joint_cell_is_flagged_not_hidden(tmp_path):
    folder = make_folder(tmp_path / "data", cells=1, cycles=6, noise=0.005, seed=2)
    # cycle 4 holds a third process (τ = 1 ms, between the two arcs) the model lacks
    t = {**truth(0, 4), "R3": 20.0, "C3": 5e-5}
    spec = ef.simulate(MODEL + " - (R3 | C3)", FREQ, t, noise=0.005, seed=9)
    write_spectrum(folder / "cell0_cycle4.csv", spec)
    res = _run(folder, tmp_path / "out", joint=True)
    s = res.spectra.set_index("cycle")
    assert not bool(s.loc[4, "success"])
    assert s.drop(index=4)["success"].all()


def test_joint_cache_is_per_cell(tmp_path):
    folder = make_folder(tmp_path / "data", cells=2, cycles=4, noise=0.005, seed=3)
    first = _run(folder, tmp_path / "out", joint=True)
    again = _run(folder, tmp_path / "out", joint=True)
    assert set(again.files["status"]) == {"cached"}
    pd.testing.assert_frame_equal(first.growth, again.growth)
    # one changed file refits its whole cell (its neighbours' values depend on it), not the other
    write_spectrum(folder / "cell1_cycle2.csv",
                   ef.simulate(MODEL, FREQ, truth(1, 2), noise=0.005, seed=77))
    third = _run(folder, tmp_path / "out", joint=True)
    st = third.files.set_index("file")["status"]
    assert (st[st.index.str.startswith("cell1")] == "fitted").all()
    assert (st[st.index.str.startswith("cell0")] == "cached").all()
    # the independent run does not reuse joint results
    alone = _run(folder, tmp_path / "out")
    assert set(alone.files["status"]) == {"fitted"}


def test_cli_joint_flags(tmp_path, capsys):
    folder = make_folder(tmp_path / "data", cells=1, cycles=4, noise=0.005, seed=4)
    assert main(["batch", "--example", "--joint", "--independent",
                 "--out", str(tmp_path / "x")]) == 2
    assert "exclude each other" in capsys.readouterr().err
    code = main(["batch", str(folder), "--model", MODEL, "--pattern", PATTERN, "--joint",
                 "--shared", "Q1_n,Q2_n", "--no-report", "--jobs", "1",
                 "--out", str(tmp_path / "o")])
    assert code == 0
    p = pd.read_csv(tmp_path / "o" / "parameters.csv")
    assert p[p["parameter"] == "Q1_n"]["value"].nunique() == 1
    assert p[p["parameter"] == "R1"]["value"].nunique() == 4
