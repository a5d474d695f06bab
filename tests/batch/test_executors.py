"""The local process pool: one BLAS thread per worker."""

from __future__ import annotations

from eisfit.batch.execute import make_executor


def _blas_threads(_):
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]


def test_each_worker_of_the_pool_runs_one_blas_thread():
    import numpy as np  # noqa: F401  (the BLAS is loaded before the pool forks)

    ex = make_executor(n_jobs=2)
    try:
        got = [r for _, r, err in ex.map_unordered(_blas_threads, [(k, k) for k in range(4)])
               if err is None]
    finally:
        ex.close()
    assert len(got) == 4 and all(threads and set(threads) == {1} for threads in got), got


def _blas_threads_after_scipy(_):
    import scipy.linalg  # noqa: F401  (may bring its own BLAS, loaded after the fork)
    import scipy.optimize  # noqa: F401

    return _blas_threads(None)


def test_a_blas_loaded_in_the_worker_after_it_started_runs_one_thread_too():
    ex = make_executor(n_jobs=2)
    try:
        got = [r for _, r, err in ex.map_unordered(_blas_threads_after_scipy, [(0, 0), (1, 1)])
               if err is None]
    finally:
        ex.close()
    assert len(got) == 2 and all(threads and set(threads) == {1} for threads in got), got
