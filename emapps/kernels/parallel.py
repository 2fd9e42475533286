"""Fixed row chunks run on a thread pool; results are added in chunk order.

Kernels release the GIL (``nogil``), so Python threads run them in parallel.  The chunk
partition depends only on the number of rows, never on the thread count, and chunk
results are summed in chunk order: 1 and 2 threads give bitwise-identical results.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.runtime import get_threads, on_threads_changed

CHUNK_ROWS = 16384

_state = {"pool": None, "size": 0}
_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked child has none of the parent's threads: start a fresh pool when needed."""
    global _lock
    _lock = threading.Lock()
    _state["pool"] = None


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _resize_pool(n_threads: int) -> None:
    """A pool of another size is joined; the next call starts one of the new size."""
    with _lock:
        pool = _state["pool"]
        if pool is not None and _state["size"] != n_threads:
            pool.shutdown(wait=True)
            _state["pool"] = None


on_threads_changed(_resize_pool)


def stop_pool() -> None:
    """Join the worker threads (a new pool starts on the next call), e.g. before a fork:
    a process forked with no extra threads inherits no lock another thread held."""
    with _lock:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=True)
            _state["pool"] = None


def _pool() -> ThreadPoolExecutor:
    with _lock:
        if _state["pool"] is None:
            _state["size"] = get_threads()
            _state["pool"] = ThreadPoolExecutor(_state["size"], thread_name_prefix="emapps")
        return _state["pool"]


def chunk_ranges(n_items: int, chunk: int = CHUNK_ROWS) -> list[tuple[int, int]]:
    """[(start, stop)] covering n_items in pieces of ``chunk`` (one empty piece if none)."""
    if n_items == 0:
        return [(0, 0)]
    return [(start, min(n_items, start + chunk)) for start in range(0, n_items, chunk)]


def map_chunks(function, n_items: int, chunk: int = CHUNK_ROWS) -> list:
    """[function(start, stop)] over the chunks, on the thread pool when it helps."""
    ranges = chunk_ranges(n_items, chunk)
    if get_threads() == 1 or len(ranges) == 1:
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
