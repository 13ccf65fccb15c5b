"""Run many independent jobs on one machine's cores or on a Dask cluster, in a fixed order.

A job is ``fn(dataset, item) -> dict`` where ``fn`` is a module-level function (so it can be
sent to another process) and ``item`` a small picklable description of one run. Results
come back in the order of ``items`` whatever order they finish in, so a table made from
them is the same with 1 worker, 2 workers or a cluster. The dataset is sent to each worker
once, not with every job.

Faults never lose finished work: given ``on_error``, a job that raises, a worker process
that dies or a Dask scheduler that is lost turns into that job's failed row (made by
``on_error`` from the item and a reason in words), and every other job's result is kept.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from typing import Any

from planner.data import Dataset
from planner.errors import PlannerError
from planner.solve import ctrl_c_is_ours

Job = Callable[[Dataset, Any], dict]
Progress = Callable[[int, int], None] | None
#: Makes the row of a job that did not return one, from its item and the reason in words.
OnError = Callable[[Any, str], dict] | None

#: The reason given to jobs a lost Dask scheduler never returned (the CLI lists them).
SCHEDULER_LOST = "not finished: scheduler lost"
#: The reason given to jobs cancelled on the Dask cluster (by another client, say).
CANCELLED = "not finished: cancelled on the cluster"
#: How many times Dask runs a job again after it raised (a worker that dies mid-job is
#: handled by the scheduler itself, which reruns the job elsewhere).
DASK_RETRIES = 2

_WORKER_DATASET: Dataset | None = None


def _init_worker(dataset: Dataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset
    # Ctrl-C is the parent's to handle: it stops the workers itself (see _stopped_on_ctrl_c)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored, so a Ctrl-C while they import is quiet.

    Only on the main thread with the default handler; elsewhere it does nothing.
    """
    if not ctrl_c_is_ours():
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """On Ctrl-C: drop the queued jobs and end the pool's processes without waiting for them."""
    pool.shutdown(wait=False, cancel_futures=True)
    for child in multiprocessing.active_children():
        child.terminate()


def _call(fn: Job, item: Any) -> dict:
    return fn(_WORKER_DATASET, item)


def error_reason(exc: BaseException) -> str:
    """An unexpected exception in words, naming its type: ``unexpected KeyError: 'ct'``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"unexpected {name}: {text}" if text else f"unexpected {name}"


def not_finished(reason: str) -> bool:
    """Whether a row's reason says its job never ran to the end (scheduler lost, cancelled)."""
    return str(reason).startswith("not finished")


def run_jobs(
    fn: Job,
    dataset: Dataset,
    items: Sequence[Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress = None,
    on_error: OnError = None,
) -> list[dict]:
    """Run ``fn(dataset, item)`` for every item; return the results in item order.

    Args:
        fn: A module-level function of (dataset, item) returning a dict.
        dataset: Sent once to each worker.
        items: One per job.
        workers: Local worker processes (1 runs in this process).
        scheduler: ``tcp://host:port`` of a Dask scheduler; overrides ``workers``.
        progress: Called with (jobs done, jobs in all) as jobs finish.
        on_error: Given, a job that raises an exception (or is lost with its worker or
            scheduler) becomes ``on_error(item, reason)`` and the other jobs carry on; not
            given, the first such exception is raised.
    """
    items = list(items)
    total = len(items)
    results: list[dict | None] = [None] * total
    done = 0

    def finish(i: int, get: Callable[[], dict], lost: Callable[[Exception], str | None]) -> None:
        """Store job ``i``'s result (or its failed row) and report progress."""
        nonlocal done
        try:
            results[i] = get()
        except Exception as exc:
            if on_error is None:
                raise
            results[i] = on_error(items[i], lost(exc) or error_reason(exc))
        done += 1
        if progress:
            progress(done, total)

    def never(exc: Exception) -> None:
        return None

    if scheduler:
        _run_dask(fn, dataset, items, scheduler, finish)
    elif workers <= 1 or total <= 1:
        for i, item in enumerate(items):
            finish(i, lambda item=item: fn(dataset, item), never)
    else:
        # spawn: a clean interpreter per worker, safe under threads (Streamlit, HiGHS)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, total),
            mp_context=context,
            initializer=_init_worker,
            initargs=(dataset,),
        ) as pool:
            with _workers_ignore_ctrl_c():  # the pool starts its processes as jobs go in
                futures = {pool.submit(_call, fn, item): i for i, item in enumerate(items)}
            try:
                for future in as_completed(futures):
                    finish(futures[future], future.result, never)
            except KeyboardInterrupt:
                _stop_workers(pool)
                raise
    return results  # type: ignore[return-value]


def _run_dask(fn: Job, dataset: Dataset, items: list, scheduler: str, finish) -> None:
    """Run the jobs on a Dask cluster, storing each result through ``finish`` as it comes.

    Jobs that raise are run again up to :data:`DASK_RETRIES` times. If the scheduler is
    lost, Dask cancels every job still out; each becomes a :data:`SCHEDULER_LOST` row while
    the results already in stay.
    """
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:
        raise PlannerError(
            "a Dask scheduler needs Dask: pip install 'planner[dask]' (or '.[dask]' here)"
        ) from exc
    # once the scheduler is gone, the client logs its failed reconnection with a traceback
    # while it closes; the caller says what happened in one line instead
    quiet = _Quiet()
    client_log = logging.getLogger("distributed.client")
    client_log.addFilter(quiet)
    try:
        with Client(scheduler, timeout="30s") as client:

            def lost(exc: Exception) -> str | None:
                gone = client.status != "running"
                if isinstance(exc, CancelledError):
                    gone = gone or getattr(exc, "reason", "") == "scheduler-connection-lost"
                    quiet.on = quiet.on or gone
                    return SCHEDULER_LOST if gone else CANCELLED
                quiet.on = quiet.on or gone
                return SCHEDULER_LOST if gone else None

            data = client.scatter(dataset, broadcast=True)
            futures = client.map(fn, [data] * len(items), items, pure=False, retries=DASK_RETRIES)
            index = {f.key: i for i, f in enumerate(futures)}
            for future in dask_completed(futures):
                finish(index[future.key], future.result, lost)
            quiet.on = quiet.on or client.status != "running"
    finally:
        client_log.removeFilter(quiet)


class _Quiet(logging.Filter):
    """Drops a logger's records once ``on`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.on
