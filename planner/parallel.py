"""Run many independent jobs on one machine's cores or on a Dask cluster, in a fixed order.

A job is ``fn(dataset, item) -> dict`` where ``fn`` is a module-level function (so it can be
sent to another process) and ``item`` a small picklable description of one run. Results
come back in the order of ``items`` whatever order they finish in, so a table made from
them is the same with 1 worker, 2 workers or a cluster. The dataset is sent to each worker
once, not with every job.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from planner.data import Dataset

Job = Callable[[Dataset, Any], dict]
Progress = Callable[[int, int], None] | None

_WORKER_DATASET: Dataset | None = None


def _init_worker(dataset: Dataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _call(fn: Job, item: Any) -> dict:
    return fn(_WORKER_DATASET, item)


def run_jobs(
    fn: Job,
    dataset: Dataset,
    items: Sequence[Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress = None,
) -> list[dict]:
    """Run ``fn(dataset, item)`` for every item; return the results in item order.

    Args:
        fn: A module-level function of (dataset, item) returning a dict.
        dataset: Sent once to each worker.
        items: One per job.
        workers: Local worker processes (1 runs in this process).
        scheduler: ``tcp://host:port`` of a Dask scheduler; overrides ``workers``.
        progress: Called with (jobs done, jobs in all) as jobs finish.
    """
    items = list(items)
    total = len(items)
    results: list[dict | None] = [None] * total
    done = 0

    def tick():
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if scheduler:
        return _run_dask(fn, dataset, items, scheduler, tick)
    if workers <= 1 or total <= 1:
        out = []
        for item in items:
            out.append(fn(dataset, item))
            tick()
        return out
    # spawn: a clean interpreter per worker, safe under threads (Streamlit, HiGHS)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, total),
        mp_context=context,
        initializer=_init_worker,
        initargs=(dataset,),
    ) as pool:
        futures = {pool.submit(_call, fn, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            tick()
    return results  # type: ignore[return-value]


def _run_dask(fn: Job, dataset: Dataset, items: list, scheduler: str, tick) -> list[dict]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        print("error: --scheduler needs dask[distributed] installed", file=sys.stderr)
        raise
    with Client(scheduler, timeout="30s") as client:
        data = client.scatter(dataset, broadcast=True)
        futures = client.map(fn, [data] * len(items), items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[dict | None] = [None] * len(items)
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            tick()
        return results  # type: ignore[return-value]
