"""A real Dask cluster: a scheduler and two workers as separate processes on 127.0.0.1,
one worker killed mid-run; the tables must equal those of a local run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from batch_synth import MODEL, make_folder

import eisfit as ef

STABLE = ["file", "spectrum", "parameter", "value", "stderr", "ci_low", "ci_high", "at_bound"]
PATTERN = "{cell}_cycle{cycle:d}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_cli() -> list[str]:
    exe = shutil.which("dask")
    if exe is None:  # the console script sits beside this interpreter after pip install
        exe = os.path.join(os.path.dirname(sys.executable), "dask")
    return [exe]


def _wait_for(address: str, n_workers: int, timeout: float = 60.0):
    distributed = pytest.importorskip("distributed")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with distributed.Client(address, timeout=5) as c:
                if len(c.scheduler_info()["workers"]) >= n_workers:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Dask cluster at {address} did not come up with {n_workers} workers")


def test_batch_on_a_real_cluster_survives_a_killed_worker(tmp_path):
    pytest.importorskip("distributed")
    folder = make_folder(tmp_path / "data", cells=2, cycles=12)
    local = ef.batch.run(folder, MODEL, pattern=PATTERN, n_jobs=1, chunk_size=2, report=False)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    procs = [subprocess.Popen(_dask_cli() + ["scheduler", "--host", "127.0.0.1", "--port",
                                             str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                _dask_cli() + ["worker", address, "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard", "--host", "127.0.0.1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
        _wait_for(address, 2)
        out = tmp_path / "out"
        result: dict = {}

        def run():
            result["res"] = ef.batch.run(folder, MODEL, out=out, pattern=PATTERN,
                                         scheduler=address, chunk_size=2, report=False)

        t = threading.Thread(target=run)
        t.start()
        cache = out / ".eisfit-cache"
        deadline = time.time() + 120
        while time.time() < deadline and t.is_alive():
            if cache.exists() and len(list(cache.rglob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        done_before = len(list(cache.rglob("*.json"))) if cache.exists() else 0
        os.killpg(procs[1].pid, signal.SIGKILL)  # the worker and its nanny
        t.join(timeout=300)
        assert not t.is_alive(), "the batch did not finish after a worker was killed"
        res = result["res"]
        assert done_before < 24, "the worker must be killed part-way through the run"
        assert res.options["executor"] == "dask"
        assert res.failures.empty
        pd.testing.assert_frame_equal(local.parameters[STABLE], res.parameters[STABLE],
                                      check_dtype=False)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL) if p is not procs[0] else p.kill()
            except (ProcessLookupError, PermissionError):
                pass
            p.wait(timeout=30)
