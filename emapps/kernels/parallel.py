"""Fixed row chunks run on a thread pool; results are added in chunk order.

Kernels release the GIL (``nogil``), so Python threads run them in parallel.  The chunk
partition depends only on the number of rows, never on the thread count, and chunk
results are summed in chunk order: 1 and 2 threads give bitwise-identical results.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK_ROWS = 16384

_state = {"threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
          else (os.cpu_count() or 1), "pool": None}
_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked child has none of the parent's threads: start a fresh pool when needed."""
    global _lock
    _lock = threading.Lock()
    _state["pool"] = None


os.register_at_fork(after_in_child=_forget_pool_in_child)


def set_threads(n_threads: int) -> None:
    """Worker threads for every kernel call in this process (default: usable cores)."""
    if n_threads < 1:
        raise ValueError(f"threads must be >= 1, got {n_threads}")
    with _lock:
        if _state["pool"] is not None and n_threads != _state["threads"]:
            _state["pool"].shutdown(wait=True)
            _state["pool"] = None
        _state["threads"] = n_threads


def stop_pool() -> None:
    """Join the worker threads (a new pool starts on the next call), e.g. before a fork:
    a process forked with no extra threads inherits no lock another thread held."""
    with _lock:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=True)
            _state["pool"] = None


def get_threads() -> int:
    return _state["threads"]


def _pool() -> ThreadPoolExecutor:
    with _lock:
        if _state["pool"] is None:
            _state["pool"] = ThreadPoolExecutor(_state["threads"], thread_name_prefix="emapps")
        return _state["pool"]


def chunk_ranges(n_items: int, chunk: int = CHUNK_ROWS) -> list[tuple[int, int]]:
    """[(start, stop)] covering n_items in pieces of ``chunk`` (one empty piece if none)."""
    if n_items == 0:
        return [(0, 0)]
    return [(start, min(n_items, start + chunk)) for start in range(0, n_items, chunk)]


def map_chunks(function, n_items: int, chunk: int = CHUNK_ROWS) -> list:
    """[function(start, stop)] over the chunks, on the thread pool when it helps."""
    ranges = chunk_ranges(n_items, chunk)
    if _state["threads"] == 1 or len(ranges) == 1:
        return [function(start, stop) for start, stop in ranges]
    return list(_pool().map(lambda bounds: function(*bounds), ranges))


def add_in_order(results: list):
    """Element-wise sum of equal-shaped result tuples, in list order."""
    totals = [np.copy(value) if isinstance(value, np.ndarray) else value for value in results[0]]
    for result in results[1:]:
        for index, value in enumerate(result):
            totals[index] = totals[index] + value
    return tuple(totals)


def map_add(function, n_items: int, chunk: int = CHUNK_ROWS):
    """Sum of function(start, stop) over the chunks, in chunk order."""
    return add_in_order(map_chunks(function, n_items, chunk))
