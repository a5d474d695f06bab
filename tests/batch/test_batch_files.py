"""Output files of a batch: the user's permissions, no temporary files left behind."""

from __future__ import annotations

import os
import stat

import pytest
from batch_synth import MODEL, make_folder

import eisfit as ef


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_every_output_file_gets_the_users_umask(tmp_path, umask):
    folder = make_folder(tmp_path / "data", cells=2, cycles=4)
    old = os.umask(umask)
    try:
        ef.batch.run(folder, MODEL, out=tmp_path / "out", pattern="{cell}_cycle{cycle:d}",
                     n_jobs=1)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"parameters.csv", "spectra.csv", "growth.csv", "run.json", "report.html"} <= names
    assert any(p.suffix == ".png" for p in files) and any(p.suffix == ".json"
                                                           and ".eisfit-cache" in p.parts
                                                           for p in files)
    want = 0o666 & ~umask  # what any new file of this user gets
    modes = {p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert {k: oct(m) for k, m in modes.items() if m != want} == {}
    assert not [n for n in names if n.endswith(".tmp")]


def test_cache_document_rows_come_without_parsing_the_outcomes():
    from batch_synth import FREQ, truth

    from eisfit.batch.outcome import (OUTCOME_VERSION, SpectrumOutcome, document_from_json,
                                      outcomes_to_json)

    spec = ef.simulate(MODEL, FREQ, truth(0, 1), noise=0.003, seed=1)
    fit = ef.fit(MODEL, spec)
    o = SpectrumOutcome(file="a.csv", hash="h", spectrum=0, model=MODEL, fit=fit,
                        warnings=("line\nbreak",))
    rows = [{"file": "a.csv", "spectrum": 0, "note": "two\nlines", "value": float("nan")}]
    text = outcomes_to_json([o], rows)
    head = document_from_json(text, outcomes=False)
    assert "outcomes" not in head and head["rows"][0]["note"] == "two\nlines"
    full = document_from_json(text)
    back = SpectrumOutcome.from_dict(full["outcomes"][0])
    assert back.fit.values == fit.values and back.warnings == ("line\nbreak",)
    # a damaged outcomes line, another version, no second line: the entry is missing
    assert document_from_json(text[:-5]) is None
    assert document_from_json(text.replace(f'"version": {OUTCOME_VERSION}', '"version": 0')) is None
    assert document_from_json(text.partition("\n")[0]) is None
