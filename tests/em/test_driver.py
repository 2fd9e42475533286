"""The generic EM driver on a toy model (a Poisson mixture in plain numpy): additive
statistics over chunks and maps, monotone and reproducible traces, restarts, seeds,
SQUAREM, monitors and run records."""

import json
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from emapps.core.record import RECORD_KEYS
from emapps.em import ConvergenceMonitor, add_stats, e_step, fit_em
from emapps.em.record import fit_record
from emapps.errors import ConvergenceWarning

from .toy import PoissonMixture, counts


def toy(seed, n_components=3):
    """(the test model, its data): a Poisson mixture over counts."""
    return PoissonMixture(n_components), counts(seed)


def test_statistics_add_over_chunks():
    model, data = toy(0)
    params = model.initial_params(data, np.random.default_rng(0))
    whole = e_step(model, params, [data])
    chunks = np.array_split(data, 7)
    split = e_step(model, params, chunks)
    for key in whole:
        np.testing.assert_allclose(split[key], whole[key], rtol=1e-12)


def test_injected_map_runs_every_chunk_and_gives_the_same_fit():
    model, data = toy(1)
    chunks = np.array_split(data, 4)
    seen = []

    def recording_map(function, items):
        items = list(items)
        seen.append(len(items))
        return map(function, items)

    serial = fit_em(model, data, chunks=chunks, seed=3, tol=1e-4, max_iter=300, map_fn=recording_map)
    assert set(seen) == {4}
    with ThreadPoolExecutor(2) as pool:
        threaded = fit_em(model, data, chunks=chunks, seed=3, tol=1e-4, max_iter=300,
                          map_fn=pool.map)
    assert serial.trace == threaded.trace


def test_add_stats_rejects_mismatched_keys():
    with pytest.raises(ValueError, match="disagree"):
        add_stats([{"loglik": 1.0}, {"loglik": 1.0, "x": 2.0}])


def test_trace_never_decreases_and_is_reproducible():
    model, data = toy(2)
    first = fit_em(model, data, seed=11, tol=1e-8, max_iter=20000)
    again = fit_em(model, data, seed=11, tol=1e-8, max_iter=20000)
    assert first.converged and first.stop_reason == "converged"
    assert np.all(np.diff(first.trace) >= -1e-9)
    assert first.trace == again.trace
    assert first.seed == 11


def test_restarts_keep_the_best_and_spawned_seeds_differ():
    model, data = toy(3, n_components=4)
    result = fit_em(model, data, seed=5, n_init=4, tol=1e-6, max_iter=500)
    assert len(result.restart_logliks) == 4
    assert result.loglik == max(result.restart_logliks)
    assert len(set(result.restart_logliks)) > 1


def test_unseeded_fit_records_its_entropy():
    model, data = toy(4)
    result = fit_em(model, data, seed=None, max_iter=5, warn=False)
    replay = fit_em(model, data, seed=result.seed, max_iter=5, warn=False)
    assert isinstance(result.seed, int) and result.trace == replay.trace


def test_max_iter_warns_with_advice():
    model, data = toy(5)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        result = fit_em(model, data, seed=0, max_iter=2, tol=1e-12)
    assert not result.converged and result.stop_reason == "max_iter" and result.n_iter == 2


def test_max_iter_zero_evaluates_the_start():
    model, data = toy(6)
    result = fit_em(model, data, seed=0, max_iter=0)
    assert result.n_iter == 0 and np.isfinite(result.loglik)


def test_squarem_reaches_the_same_optimum_in_a_third_of_the_steps():
    model, data = toy(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = fit_em(model, data, seed=0, tol=1e-13, max_iter=20000)
        fast = fit_em(model, data, seed=0, tol=1e-13, max_iter=20000, accelerate="squarem")
    optimum = max(plain.loglik, fast.loglik)
    assert abs(fast.loglik - plain.loglik) < 1e-6
    assert np.all(np.diff(fast.trace) >= -1e-9)

    def steps_to_reach(result):
        index = int(np.argmax(np.asarray(result.trace) >= optimum - 1e-6))
        return result.trace_esteps[index]

    assert 3 * steps_to_reach(fast) <= steps_to_reach(plain)


def test_monitor_modes():
    mean = ConvergenceMonitor(tol=0.1, tol_on="mean")
    assert not mean.report(-1000.0, 100.0)
    assert mean.report(-995.0, 100.0)  # 0.05 per sample
    total = ConvergenceMonitor(tol=1.0, tol_on="total")
    total.report(-1000.0)
    assert not total.report(-995.0)
    relative = ConvergenceMonitor(tol=1e-2, tol_on="relative")
    relative.report(-1000.0)
    assert relative.report(-995.0)
    with pytest.raises(ValueError):
        ConvergenceMonitor(tol_on="bogus")


def test_monitor_warns_when_likelihood_falls():
    monitor = ConvergenceMonitor()
    monitor.report(-10.0)
    with pytest.warns(RuntimeWarning, match="decreased"):
        monitor.report(-11.0)


def test_run_record_is_json():
    model, data = toy(7)
    result = fit_em(model, data, seed=9, tol=1e-4, max_iter=200)
    record = json.loads(json.dumps(fit_record(result, {"k": 3}), default=float))
    for key in (*RECORD_KEYS, "stop_reason", "restart_logliks"):
        assert key in record
    assert record["command"] is None   # a fit made from Python, not from a command line
    assert record["seed"] == 9 and len(record["trace"]) == record["n_iter"]
    assert len(record["timings"]["iterations"]) == record["n_iter"]


def test_parameter_tolerance_keeps_iterating_until_parameters_settle():
    model, data = toy(8)
    loose = fit_em(model, data, seed=1, tol=1e-2, max_iter=5000)
    strict = fit_em(model, data, seed=1, tol=1e-2, max_iter=5000, param_tol=1e-3)
    assert strict.converged and strict.n_iter > loose.n_iter
    assert strict.trace[:loose.n_iter] == loose.trace


def test_screened_restarts_finish_the_best_as_if_never_stopped():
    """Every start runs 5 iterations, the 2 best go on; a finished start is the same to
    the last bit as the same start run straight through (plain EM)."""
    model, data = toy(3, n_components=4)
    straight = fit_em(model, data, seed=5, n_init=6, tol=1e-7, max_iter=1000)
    screened = fit_em(model, data, seed=5, n_init=6, tol=1e-7, max_iter=1000, screen=(5, 2))
    assert len(screened.screened_logliks) == 6 and len(screened.restart_logliks) == 2
    best_two = sorted(sorted(range(6), key=lambda r: -screened.screened_logliks[r])[:2])
    assert screened.restart in best_two
    assert screened.restart_logliks == [straight.restart_logliks[r] for r in best_two]
    everyone = fit_em(model, data, seed=5, n_init=6, tol=1e-7, max_iter=1000, screen=(5, 6))
    assert everyone.trace == straight.trace and everyone.restart == straight.restart
    assert everyone.n_estep == straight.n_estep == len(straight.trace)
    with pytest.raises(ValueError, match="starts kept must be in 1..6"):
        fit_em(model, data, seed=5, n_init=6, screen=(5, 7))
