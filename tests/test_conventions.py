"""One set of conventions across the result types (data − model residuals, n_points,
immutability), checked on the same spectrum."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import eisfit as ef

F = np.logspace(5, -1, 41)
MODEL = "R0 - (R1 | Q1) - (R2 | Q2)"
TRUTH = dict(R0=10, R1=20, Q1_Q=2e-6, Q1_n=0.92, R2=60, Q2_Q=5e-3, Q2_n=0.85)


@pytest.fixture(scope="module")
def spec():
    return ef.simulate(MODEL, F, TRUTH, noise=0.003, seed=3)


@pytest.fixture(scope="module")
def results(spec, tmp_path_factory):
    folder = tmp_path_factory.mktemp("conv")
    lines = ["freq_Hz,z_real_ohm,z_imag_ohm"] + [
        f"{f:.12g},{z.real:.12g},{z.imag:.12g}" for f, z in zip(spec.freq, spec.Z)]
    (folder / "a.csv").write_text("\n".join(lines) + "\n")
    return {
        "fit": ef.fit(MODEL, spec),
        "drt": ef.drt(spec),
        "kk": ef.kk(spec),
        "propose": ef.propose(spec),
        "batch": ef.batch.run(folder, MODEL, n_jobs=1),
    }


def test_residuals_are_data_minus_model_relative_everywhere(spec, results):
    order = np.argsort(spec.freq)
    Z = spec.Z[order]
    for name in ("fit", "drt", "kk"):
        r = results[name]
        np.testing.assert_allclose(r.freq, spec.freq[order])
        np.testing.assert_allclose(r.residuals, (Z - r.Z_fit) / np.abs(Z), rtol=1e-12,
                                   err_msg=name)
    fr = results["propose"].fit
    np.testing.assert_allclose(fr.residuals, (fr.Z - fr.Z_fit) / np.abs(fr.Z), rtol=1e-12)


def test_n_points_counts_frequencies_everywhere(spec, results):
    n = len(spec)
    assert results["fit"].n_points == n and results["fit"].n_residuals == 2 * n
    assert results["drt"].n_points == n
    assert results["kk"].n_points == n
    assert int(results["batch"].spectra["n_points"].iloc[0]) == n
    assert results["fit"].to_row()["n_points"] == n


def _assert_frozen(obj, name):
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray) and v.size:
            with pytest.raises(ValueError, match="read-only"):
                v.flat[0] = 0
        if isinstance(v, dict) and not f.name.startswith("_") and v:
            with pytest.raises(TypeError):
                v[next(iter(v))] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, dataclasses.fields(obj)[0].name, None)


def test_every_result_refuses_writes(spec, results):
    for name in ("fit", "drt", "kk", "propose"):
        _assert_frozen(results[name], name)
    fr = results["fit"]
    for arr in (fr.freq, fr.Z, fr.Z_fit, fr.residuals, fr.covariance):
        assert not arr.flags.writeable
    p = results["propose"]
    table = p.candidates
    table.loc[0, "bic"] = 0.0  # a copy: the proposal does not change
    assert p.candidates.loc[0, "bic"] != 0.0
    with pytest.raises(ValueError):
        spec.Z[0] = 0
    with pytest.raises(TypeError):
        spec.meta["x"] = 1
    with pytest.raises(AttributeError):
        spec._Z = None
    c = ef.parse(MODEL)
    with pytest.raises(AttributeError):
        c.children = ()
    o = ef.batch.SpectrumOutcome(file="a", hash="h", spectrum=0, meta={"cell": "A"})
    _assert_frozen(o, "outcome")
