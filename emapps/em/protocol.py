"""The model protocol every EM model in emapps follows, and additive statistics.

An E-step over a chunk of data returns a dict of *additive* sufficient statistics
(arrays or floats) that always holds ``loglik`` (sum of log p(x_n)) and ``weight``
(sum of sample weights).  Because they add, chunks can be processed anywhere
(threads, processes, a cluster) and summed: stats(data) = sum_c stats(chunk_c).
A model may also define ``log_prior(params)``: the driver then runs MAP-EM and monitors
the log posterior (log-likelihood + log prior).
"""

from typing import Any, Protocol, runtime_checkable

import numpy as np

Stats = dict[str, Any]


@runtime_checkable
class EMModel(Protocol):
    """What the generic driver needs from a model; ``params`` is any value."""

    def initial_params(self, data: Any, rng: np.random.Generator) -> Any:
        """Starting parameters for one restart."""

    def e_step(self, params: Any, chunk: Any) -> Stats:
        """Additive sufficient statistics of one chunk, with 'loglik' and 'weight'."""

    def m_step(self, params: Any, stats: Stats) -> Any:
        """New parameters from the summed statistics."""


@runtime_checkable
class Extrapolable(Protocol):
    """Models that SQUAREM can accelerate map parameters to and from a flat vector."""

    def pack(self, params: Any) -> np.ndarray:
        """Parameters as a 1-D float vector in an unconstrained parametrisation."""

    def unpack(self, vector: np.ndarray, like: Any) -> Any | None:
        """Parameters from a vector, or None when the vector is not a valid model."""


def add_stats(parts) -> Stats:
    """Key-wise sum of E-step statistics, in the order given (deterministic)."""
    total: Stats | None = None
    for part in parts:
        if total is None:
            total = {key: np.copy(value) if isinstance(value, np.ndarray) else value
                     for key, value in part.items()}
            continue
        if part.keys() != total.keys():
            raise ValueError(f"chunk statistics disagree on keys: {sorted(part)} vs {sorted(total)}")
        for key, value in part.items():
            total[key] = total[key] + value
    if total is None:
        raise ValueError("no data chunks to run the E-step on")
    return total
