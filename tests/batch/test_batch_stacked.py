"""Stacked fits in the batch: the same outcomes as one spectrum at a time."""

from __future__ import annotations

import numpy as np
import pytest
from batch_synth import FREQ, MODEL, make_folder, truth

import eisfit as ef
from eisfit.batch.models import ModelPlan
from eisfit.batch.worker import FileJob, RunOptions, Task, run_task

PATTERN = "{cell}_cycle{cycle:d}"
ONE_ARC = "R0 - (R1 | Q1)"
FOUR_ARCS = ("R0 - (R1 | C1) - (R2 | C2) - (R3 | C3) - (R4 | C4)",
             dict(R0=5, R1=100, C1=1e-7, R2=100, C2=1e-5, R3=100, C3=1e-3, R4=100, C4=1e-1))


def assert_same_outcome(a, b, tol=1e-4):
    """Same status, error, flags and warm start; values within tol·stderr."""
    assert (a.status, a.error, a.flags, a.warm, a.model) == (b.status, b.error, b.flags, b.warm,
                                                              b.model)
    if a.fit is None:
        return
    assert a.fit.success == b.fit.success, (a.fit.message, b.fit.message)
    for n in a.fit.parameter_names:
        se = a.fit.stderr[n]
        if np.isfinite(se) and se > 0:
            assert abs(a.fit.values[n] - b.fit.values[n]) <= tol * se, n


def test_a_stacked_batch_gives_the_serial_tables(tmp_path):
    folder = make_folder(tmp_path / "data", cells=2, cycles=20)
    kw = dict(pattern=PATTERN, n_jobs=1, report=False)
    serial = ef.batch.run(folder, MODEL, out=tmp_path / "a", **kw)
    stacked = ef.batch.run(folder, MODEL, out=tmp_path / "b", stacked=True, **kw)
    assert (stacked.spectra["status"] == "ok").all()
    cols = ["file", "status", "warm_start", "kk_passed", "n_points"]
    assert stacked.spectra[cols].equals(serial.spectra[cols])
    a = serial.parameters.set_index(["file", "parameter"])
    b = stacked.parameters.set_index(["file", "parameter"]).loc[a.index]
    par = a["kind"] == "parameter"
    dev = (a["value"] - b["value"]).abs()[par] / a["stderr"][par]
    assert dev.max() < 1e-4
    g = stacked.growth.set_index(["cell", "parameter"])
    for cell in ("cell0", "cell1"):
        assert g.loc[(cell, "R2"), "slope"] == pytest.approx(4.0, rel=0.05)


def _job(name: str, spectra, meta=None) -> FileJob:
    return FileJob(path=name, rel=name, hash=name, key=name, meta=meta or {},
                   indices=tuple(range(len(spectra))), spectra=tuple(spectra))


def _run(jobs, model, stacked: bool):
    opts = RunOptions(plan=ModelPlan.from_spec(model), stacked=stacked)
    return [o for _, outs, _ in run_task(Task(tuple(jobs), opts)) for o in outs]


def test_model_changes_bad_spectra_and_files_inside_one_task(monkeypatch):
    """Blocks end where the model changes; a foreign spectrum, one with too few points and
    a file that cannot be read come out as without stacking, the others unaffected."""
    one = [ef.simulate(ONE_ARC, FREQ, {k: truth(0, c)[k] for k in ("R0", "R1", "Q1_Q", "Q1_n")},
                       noise=0.003, seed=c) for c in range(1, 5)]
    two = [ef.simulate(MODEL, FREQ, truth(0, c), noise=0.003, seed=10 + c) for c in range(1, 25)]
    foreign = ef.simulate(FOUR_ARCS[0], FREQ, FOUR_ARCS[1], noise=0.002, seed=1)
    short = ef.Spectrum(FREQ[:3], two[0].Z[:3])
    second = two[:5] + [foreign] + two[5:12] + [short] + two[12:]
    jobs = [_job("before.csv", one, {"state": "before"}),
            FileJob(path="/nonexistent/x.csv", rel="x.csv", hash="x", key="x"),
            _job("after.csv", second, {"state": "after"})]
    model = {"before": ONE_ARC, "*": MODEL}
    import eisfit.batch.worker as worker

    blocks = []
    real = worker.stacked_results

    def spy(circuit, spectra, *a, **k):
        blocks.append((str(circuit), len(spectra)))
        return real(circuit, spectra, *a, **k)

    monkeypatch.setattr(worker, "stacked_results", spy)
    monkeypatch.setattr(worker, "STACK_KEPT", 0.0)  # blocks go on however short they are cut
    serial = _run(jobs, model, False)
    assert blocks == []
    stacked = _run(jobs, model, True)
    # before: 2nd-4th; after (the model changed: its first without a warm start): 2nd-13th
    # (the block ends at the short spectrum) kept up to the foreign 6th, then 7th-13th
    # (from the 5th, the last ok outcome), then 15th-26th
    assert blocks == [(ONE_ARC, 3), (MODEL, 12), (MODEL, 7), (MODEL, 12)]
    assert len(serial) == len(stacked) == len(one) + 1 + len(second)
    for a, b in zip(serial, stacked):
        assert_same_outcome(a, b)
    status = [o.status for o in stacked]
    assert status[len(one)] == "failed" and stacked[len(one)].stage == "read"
    after = stacked[len(one) + 1:]
    assert after[5].status == "poor_fit" and after[13].status == "failed"
    assert all(o.status == "ok" for i, o in enumerate(after) if i not in (5, 13))
    assert {o.model for i, o in enumerate(after) if i != 13} == {MODEL}


def test_stacking_needs_warm_starts():
    two = [ef.simulate(MODEL, FREQ, truth(0, c), noise=0.003, seed=c) for c in range(1, 5)]
    opts = RunOptions(plan=ModelPlan.from_spec(MODEL), stacked=True, warm_start=False)
    outs = run_task(Task((_job("a.csv", two),), opts))[0][1]
    assert all(o.status == "ok" and not o.warm for o in outs)


def test_stacking_is_the_default_and_part_of_the_cache_key():
    plan = ModelPlan.from_spec(MODEL)
    base = RunOptions(plan=plan)
    assert base.stacked
    assert base.fingerprint() == RunOptions(plan=plan, stacked=True).fingerprint()
    assert base.fingerprint() != RunOptions(plan=plan, stacked=False).fingerprint()


def test_a_task_whose_blocks_are_cut_short_goes_on_one_by_one(monkeypatch):
    """Every third spectrum comes from another circuit (a poor fit that cuts the block):
    after the first block keeps 2 of 16, the rest is fitted one by one, as serially."""
    foreign = [ef.simulate(FOUR_ARCS[0], FREQ, FOUR_ARCS[1], noise=0.002, seed=s)
               for s in range(12)]
    two = [ef.simulate(MODEL, FREQ, truth(0, c), noise=0.003, seed=c) for c in range(1, 25)]
    seq = [x for k in range(12) for x in (two[2 * k], two[2 * k + 1], foreign[k])]
    import eisfit.batch.worker as worker

    blocks = []
    real = worker.stacked_results

    def spy(circuit, spectra, *a, **k):
        blocks.append(len(spectra))
        return real(circuit, spectra, *a, **k)

    monkeypatch.setattr(worker, "stacked_results", spy)
    serial = _run([_job("a.csv", seq)], MODEL, False)
    stacked = _run([_job("a.csv", seq)], MODEL, True)
    assert blocks == [16]  # spectra 2–17; spectrum 3 (foreign) cuts it after 1 kept
    assert [o.status for o in serial].count("poor_fit") == 12
    for a, b in zip(serial, stacked, strict=True):
        assert_same_outcome(a, b)


def test_smooth_sequences_keep_stacking():
    plan = ModelPlan.from_spec(MODEL)
    two = [ef.simulate(MODEL, FREQ, truth(0, c), noise=0.003, seed=c) for c in range(1, 41)]
    import eisfit.batch.worker as worker

    sizes = []
    real = worker.stacked_results
    now = [0.0]  # a clock that moves only while a block is solved: one second per spectrum

    def spy(circuit, spectra, *a, **k):
        sizes.append(len(spectra))
        now[0] += len(spectra)
        return real(circuit, spectra, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(worker, "stacked_results", spy)
        mp.setattr(worker.time, "perf_counter", lambda: now[0])
        outs = [o for _, o_, _ in run_task(Task((_job("b.csv", two),), RunOptions(plan=plan)))
                for o in o_]
    assert sizes == [16, 16, 7] and all(o.status == "ok" for o in outs)
    # each spectrum of a block is charged its share of the block's time, the one that
    # started the block no more than the others
    assert [o.seconds for o in outs] == [0.0] + [1.0] * 39
