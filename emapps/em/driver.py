"""The one EM driver every emapps model runs through.

fit_em(model, data) runs restarts seeded from ``SeedSequence(seed).spawn(n_init)``,
each an EM loop (optionally SQUAREM-accelerated) monitored on the log-likelihood,
and keeps the restart with the highest final log-likelihood.  The E-step is mapped
over ``chunks`` with an injectable ``map`` (builtin map, a process pool's map, a
Dask adapter) and the additive statistics are summed in chunk order.
"""

import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ConvergenceWarning
from .accel import QuasiNewtonStep, SquaremStep
from .monitor import ConvergenceMonitor
from .protocol import EMModel, Extrapolable, Stats, add_stats

ACCELERATIONS = (None, "squarem", "qn")


@dataclass
class EMResult:
    """Outcome of one EM fit.

    ``trace`` holds the log-likelihood before each M-step (each SQUAREM cycle) and
    ``trace_esteps`` the number of E-steps run when that value was computed.
    """

    params: Any
    loglik: float
    weight: float
    trace: list
    trace_esteps: list
    n_iter: int
    n_estep: int
    converged: bool
    stop_reason: str
    seed: int | None
    restart: int = 0
    timings: dict = field(default_factory=dict)
    restart_logliks: list = field(default_factory=list)
    screened_logliks: list = field(default_factory=list)


def _entropy(seed) -> tuple[np.random.SeedSequence, int | None]:
    if isinstance(seed, np.random.SeedSequence):
        return seed, seed.entropy
    sequence = np.random.SeedSequence(seed)
    return sequence, sequence.entropy


def e_step(model: EMModel, params, chunks: Sequence, map_fn: Callable = map) -> Stats:
    """Sum of the model's E-step statistics over all chunks.  A model with a
    ``log_prior(params)`` method is fitted by MAP-EM: its log prior is added to 'loglik',
    so the monitored objective is the log posterior."""
    stats = add_stats(map_fn(partial(model.e_step, params), chunks))
    if hasattr(model, "log_prior"):
        stats["loglik"] = stats["loglik"] + model.log_prior(params)
    return stats


def _parameters_settled(model, old, new, param_tol) -> bool:
    """max |delta theta| < param_tol on the model's packed parameters (True when unset)."""
    if param_tol is None:
        return True
    return float(np.max(np.abs(model.pack(new) - model.pack(old)))) < param_tol


def run_em(model: EMModel, chunks: Sequence, params, *, monitor: ConvergenceMonitor,
           accelerate: str | None = None, map_fn: Callable = map, callback=None,
           param_tol: float | None = None) -> EMResult:
    """EM iterations from ``params`` until the monitor converges (and, with ``param_tol``,
    the packed parameters move by less than it) or max_iter is reached."""
    if accelerate not in ACCELERATIONS:
        raise ValueError(f"accelerate must be one of {ACCELERATIONS}, got {accelerate!r}")
    needs_pack = accelerate or param_tol is not None
    if needs_pack and not isinstance(model, Extrapolable):
        raise TypeError(f"{type(model).__name__} has no pack/unpack, so it cannot use SQUAREM "
                        f"or param_tol")
    step = QuasiNewtonStep() if accelerate == "qn" else SquaremStep()
    n_estep = 0
    converged = False
    iter_seconds = []
    trace_esteps = []
    stats = None
    while len(monitor.history) < monitor.max_iter:
        started = time.perf_counter()
        stats = e_step(model, params, chunks, map_fn)
        n_estep += 1
        new_params = model.m_step(params, stats)
        converged = (monitor.report(stats["loglik"], stats["weight"])
                     and _parameters_settled(model, params, new_params, param_tol))
        trace_esteps.append(n_estep)
        if callback is not None:
            callback(len(monitor.history), stats["loglik"], new_params)
        if converged or not accelerate or len(monitor.history) >= monitor.max_iter:
            params = new_params
            iter_seconds.append(time.perf_counter() - started)
            if converged:
                break
            continue
        params, extra = _squarem_cycle(model, chunks, params, new_params, step, map_fn)
        n_estep += extra
        iter_seconds.append(time.perf_counter() - started)
    if stats is None:  # max_iter == 0: report the starting point
        stats = e_step(model, params, chunks, map_fn)
        n_estep += 1
    return EMResult(
        params=params, loglik=monitor.history[-1] if monitor.history else stats["loglik"],
        weight=float(stats["weight"]), trace=list(monitor.history),
        trace_esteps=trace_esteps, n_iter=len(monitor.history),
        n_estep=n_estep, converged=converged,
        stop_reason="converged" if converged else "max_iter", seed=None,
        timings={"iterations": iter_seconds})


def _squarem_cycle(model, chunks, theta0, theta1, step, map_fn):
    """Two EM maps, an extrapolation (``step``: SQUAREM or quasi-Newton) and a
    stabilising map; returns (params, extra E-steps)."""
    stats1 = e_step(model, theta1, chunks, map_fn)
    theta2 = model.m_step(theta1, stats1)
    v0, v1, v2 = model.pack(theta0), model.pack(theta1), model.pack(theta2)
    vector, length = step.extrapolate(v0, v1, v2)
    if length == 1.0:
        return theta2, 1
    candidate = model.unpack(vector, theta0)
    if candidate is None:
        step.rejected()
        return theta2, 1
    try:
        stats_c = e_step(model, candidate, chunks, map_fn)
        if not np.isfinite(stats_c["loglik"]) or stats_c["loglik"] < stats1["loglik"]:
            step.rejected()
            return theta2, 2
        return model.m_step(candidate, stats_c), 2
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # degenerate candidate
        step.rejected()
        return theta2, 2


def best_of_restarts(seed, n_restarts: int, run_one: Callable):
    """Run ``run_one(restart, rng)`` with generators from ``SeedSequence(seed).spawn``;
    return (the result with the highest ``.loglik``, the seed's entropy, every loglik).
    Ties keep the earliest restart, so the outcome depends on the seed only."""
    if n_restarts < 1:
        raise ValueError(f"the number of restarts must be >= 1, got {n_restarts}")
    sequence, entropy = _entropy(seed)
    best = None
    logliks = []
    for restart, child in enumerate(sequence.spawn(n_restarts)):
        result = run_one(restart, np.random.default_rng(child))
        logliks.append(result.loglik)
        if best is None or result.loglik > best.loglik:
            best = result
    return best, entropy, logliks


def screened_restarts(seed, n_restarts: int, keep: int, screen_one: Callable,
                      finish: Callable):
    """Mplus's two stages: ``screen_one(restart, rng)`` for every restart (a short run),
    then ``finish(result)`` for the ``keep`` best of them.  Returns (the best finished
    result, the seed's entropy, the finished starts' logliks, every screened loglik);
    ties keep the earliest restart."""
    if not 1 <= keep <= n_restarts:
        raise ValueError(f"the starts kept must be in 1..{n_restarts}, got {keep}")
    sequence, entropy = _entropy(seed)
    screened = [screen_one(restart, np.random.default_rng(child))
                for restart, child in enumerate(sequence.spawn(n_restarts))]
    order = sorted(range(n_restarts), key=lambda restart: -screened[restart].loglik)
    finished = [finish(screened[restart]) for restart in sorted(order[:keep])]
    best = None
    for result in finished:
        if best is None or result.loglik > best.loglik:
            best = result
    return (best, entropy, [result.loglik for result in finished],
            [result.loglik for result in screened])


def iterated_search(seed, n_rounds: int, start: Callable, perturb: Callable):
    """Iterated local search over EM fits: ``start(rng)`` first, then ``n_rounds - 1``
    fits ``perturb(best, rng)`` from the best so far, keeping a result only when its
    ``.loglik`` is higher.  Generators come from ``SeedSequence(seed).spawn``.
    Returns (best, the seed's entropy, the loglik of every round)."""
    if n_rounds < 1:
        raise ValueError(f"the number of rounds must be >= 1, got {n_rounds}")
    sequence, entropy = _entropy(seed)
    children = sequence.spawn(n_rounds)
    best = start(np.random.default_rng(children[0]))
    logliks = [best.loglik]
    for child in children[1:]:
        result = perturb(best, np.random.default_rng(child))
        logliks.append(result.loglik)
        if result.loglik > best.loglik:
            best = result
    return best, entropy, logliks


def fit_em(model: EMModel, data, *, chunks: Sequence | None = None, n_init: int = 1,
           seed=None, max_iter: int = 100, tol: float = 1e-3, tol_on: str = "mean",
           accelerate: str | None = None, map_fn: Callable = map, init_params=None,
           param_tol: float | None = None, verbose: bool = False, warn: bool = True,
           callback=None, screen: tuple[int, int] | None = None) -> EMResult:
    """Fit ``model`` by EM with restarts; return the best restart's result.

    ``init_params`` (a value, or a callable rng -> params) replaces the model's own
    initialisation; ``chunks`` defaults to ``[data]``.  ``screen=(iterations, keep)``
    runs every restart for ``iterations`` first and only the ``keep`` best of them on
    to convergence (Mplus's initial and final stage starts): the result's
    ``restart_logliks`` are then the finished starts', ``screened_logliks`` all of them.
    """
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1, got {n_init}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    chunks = [data] if chunks is None else list(chunks)
    total_started = time.perf_counter()

    def one_restart(restart, rng, iterations=max_iter):
        started = time.perf_counter()
        if init_params is None:
            params = model.initial_params(data, rng)
        else:
            params = init_params(rng) if callable(init_params) else init_params
        init_seconds = time.perf_counter() - started
        monitor = ConvergenceMonitor(tol=tol, tol_on=tol_on, max_iter=iterations,
                                     verbose=verbose)
        result = run_em(model, chunks, params, monitor=monitor, accelerate=accelerate,
                        map_fn=map_fn, callback=callback, param_tol=param_tol)
        result.restart = restart
        result.timings["init"] = init_seconds
        return result

    def finish(result):   # a screened restart, on from where it stopped
        if result.converged or result.n_iter >= max_iter:
            return result
        monitor = ConvergenceMonitor(tol=tol, tol_on=tol_on, max_iter=max_iter,
                                     verbose=verbose, history=list(result.trace))
        more = run_em(model, chunks, result.params, monitor=monitor, accelerate=accelerate,
                      map_fn=map_fn, callback=callback, param_tol=param_tol)
        more.trace_esteps = result.trace_esteps + [n + result.n_estep
                                                   for n in more.trace_esteps]
        more.n_estep += result.n_estep
        more.restart = result.restart
        more.timings = {"init": result.timings["init"], "iterations":
                        result.timings["iterations"] + more.timings["iterations"]}
        return more

    screened = []
    if screen is None:
        best, entropy, logliks = best_of_restarts(seed, n_init, one_restart)
    else:
        best, entropy, logliks, screened = screened_restarts(
            seed, n_init, screen[1], partial(one_restart, iterations=min(screen[0], max_iter)),
            finish)
    best.seed = entropy
    best.restart_logliks = logliks
    best.screened_logliks = screened
    best.timings["total"] = time.perf_counter() - total_started
    if warn and not best.converged and max_iter > 0:
        warnings.warn(f"EM did not converge in {max_iter} iterations (best of {n_init} "
                      f"restarts); raise max_iter or tol", ConvergenceWarning, stacklevel=2)
    return best
