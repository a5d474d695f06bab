"""Running tasks: in this process, in a local process pool, or on a Dask cluster.

All three yield ``(tag, result, error)`` triples as tasks finish, so the caller can
store each result as soon as it exists (which is what makes a killed run resumable).

Examples
--------
>>> ex = make_executor(n_jobs=1)
>>> sorted(r for _, r, _ in ex.map_unordered(abs, [(0, -1), (1, -2)]))
[1, 2]
>>> ex.close()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InputError, require

__all__ = ["make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "default_jobs"]


def default_jobs() -> int:
    """All cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Runs tasks one after the other in this process (``n_jobs=1``; easiest to debug)."""

    name = "serial"
    workers = 1

    def map_unordered(
        self, fn: Callable, tagged: Iterable[tuple[Any, Any]]
    ) -> Iterator[tuple[Any, Any, BaseException | None]]:
        for tag, arg in tagged:
            try:
                yield tag, fn(arg), None
            except Exception as e:
                yield tag, None, e

    def close(self) -> None:
        pass


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _init_worker() -> None:
    """Worker initializer: one BLAS/OpenMP thread per worker, and (on Linux) the worker
    ends when its parent dies.

    The pool already runs one worker per core: a multithreaded BLAS in each would put
    several threads on every core, and the many small solves of a fit then spend their time
    switching and spinning (measured: 10 % more wall time on a 2-core batch of 2-arc fits).
    A killed batch (``kill -9``) must not leave orphaned workers fitting on; the restarted
    run resumes from the cache instead.
    """
    from threadpoolctl import threadpool_limits

    for var in _THREAD_VARS:  # libraries the worker loads later (e.g. scipy's own BLAS)
        os.environ[var] = "1"
    threadpool_limits(limits=1)  # those already loaded (forked with the parent's numpy)
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # not Linux / no libc: best effort only
        pass


class ProcessExecutor:
    """A local :class:`concurrent.futures.ProcessPoolExecutor` with ``n_jobs`` processes."""

    name = "processes"

    def __init__(self, n_jobs: int):
        from concurrent.futures import ProcessPoolExecutor

        self.workers = n_jobs
        self._pool = ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker)

    def map_unordered(self, fn, tagged):
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = {self._pool.submit(fn, arg): tag for tag, arg in tagged}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    tag = pending.pop(fut)  # drop the future: its result is not kept alive
                    try:
                        res, err = fut.result(), None
                    except Exception as e:  # a worker died or the task raised
                        res, err = None, e
                    del fut
                    yield tag, res, err
        finally:
            for f in pending:
                f.cancel()

    def warm(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` (e.g. imports a later task needs) in the idle workers without waiting
        for it, while this process does something else; a failure there is ignored."""
        for _ in range(self.workers):
            self._pool.submit(fn)

    def submit(self, fn: Callable, arg: Any):
        """``fn(arg)`` started in a worker now; a future (``result()`` waits for it)."""
        return self._pool.submit(fn, arg)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask distributed cluster.

    Parameters
    ----------
    scheduler : str or distributed.Client
        Scheduler address (``"tcp://host:8786"``) or an existing client.
    """

    name = "dask"

    def __init__(self, scheduler: Any):
        distributed = require("distributed", "dask", "a Dask scheduler")
        self._own = not isinstance(scheduler, distributed.Client)
        self.client = distributed.Client(scheduler) if self._own else scheduler
        try:
            self.workers = max(1, sum(self.client.nthreads().values()))
        except Exception:  # pragma: no cover - scheduler without workers yet
            self.workers = 1

    def map_unordered(self, fn, tagged):
        from distributed import as_completed

        futs = {}
        for tag, arg in tagged:
            futs[self.client.submit(fn, arg, pure=False)] = tag
        try:
            for fut in as_completed(list(futs)):
                try:
                    yield futs[fut], fut.result(), None
                except Exception as e:
                    yield futs[fut], None, e
                finally:
                    fut.release()
        finally:
            for f in futs:
                f.cancel()

    def warm(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on every worker without waiting for it (a failure there is ignored)."""
        try:
            self.client.run(fn, wait=False)
        except Exception:  # pragma: no cover - a scheduler that refuses: nothing lost
            pass

    def submit(self, fn: Callable, arg: Any):
        """``fn(arg)`` started on the cluster now; a future (``result()`` waits for it)."""
        return self.client.submit(fn, arg, pure=False)

    def close(self) -> None:
        if self._own:
            self.client.close()


def make_executor(n_jobs: int | None = None, scheduler: Any = None):
    """The executor for a run: Dask when ``scheduler`` is given, else local processes.

    Parameters
    ----------
    n_jobs : int or None
        Local processes; ``None`` or ``-1`` = all cores; ``1`` = run in this process.
    scheduler : str, distributed.Client or None
    """
    if scheduler is not None:
        return DaskExecutor(scheduler)
    n = default_jobs() if n_jobs in (None, -1, 0) else int(n_jobs)
    if n < 1:
        raise InputError(f"n_jobs must be >= 1 or -1, got {n_jobs}")
    return SerialExecutor() if n == 1 else ProcessExecutor(n)
