"""The admixture kernels against plain numpy: statistics, log-likelihood, folds."""

import numpy as np
import pytest

from emapps.admix.genotypes import pack, unpack
from emapps.admix.model import AdmixtureEM, AdmixtureParams, Fold
from emapps.kernels.admixture import _fold_of

from .conftest import simulate


def reference_statistics(counts, Q, F, weights):
    p = Q @ F.T                                  # (N, M)
    g = np.where(counts < 0, 0, counts).astype(float)
    w = weights * (counts >= 0)
    x, y = w * g / p, w * (2 - g) / (1 - p)
    loglik = np.sum(w * (g * np.log(p) + (2 - g) * np.log(1 - p)))
    q_num = (x @ F + y @ (1 - F)).T
    a, b = x.T @ Q, y.T @ Q                      # (M, K)
    return loglik, q_num, w.sum(axis=1), F * a, F * a + (1 - F) * b


@pytest.mark.parametrize("n", [37, 40, 5])
def test_statistics_match_numpy(n):
    counts, Q, F = simulate(n=n, m=150, k=3, missing=0.1, seed=n)
    model = AdmixtureEM(pack(counts.T), n, 3)
    stats = model.e_step(AdmixtureParams(Q, F), model.chunks()[0])
    loglik, q_num, observed, f_num, f_den = reference_statistics(counts, Q, F, 1.0)
    assert stats["loglik"] == pytest.approx(loglik, rel=1e-12)
    np.testing.assert_allclose(stats["q_num"], q_num, rtol=1e-12)
    np.testing.assert_allclose(stats["observed"], observed)
    np.testing.assert_allclose(stats["f_num"], f_num, rtol=1e-12)
    np.testing.assert_allclose(stats["f_den"], f_den, rtol=1e-12)


def test_a_held_out_fold_is_left_out_and_scored_alone():
    counts, Q, F = simulate(n=30, m=90, k=2, missing=0.05, seed=3)
    fold = Fold(key=11, n_folds=4, index=2)
    inside = np.array([[_fold_of(i, j, 30, 11, 4) == 2 for j in range(90)]
                       for i in range(30)])
    assert 0.15 < inside.mean() < 0.35
    model = AdmixtureEM(pack(counts.T), 30, 2, fold=fold)
    stats = model.e_step(AdmixtureParams(Q, F), model.chunks()[0])
    loglik, q_num, *_ = reference_statistics(counts, Q, F, (~inside).astype(float))
    assert stats["loglik"] == pytest.approx(loglik, rel=1e-12)
    np.testing.assert_allclose(stats["q_num"], q_num, rtol=1e-12)
    total, count = model.heldout_error(AdmixtureParams(Q, F), fold)
    chosen = inside & (counts >= 0)
    g, mean = counts[chosen].astype(float), 2 * (Q @ F.T)[chosen]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = (np.where(g > 0, g * np.log(g / mean), 0)
                    + np.where(g < 2, (2 - g) * np.log((2 - g) / (2 - mean)), 0))
    assert count == chosen.sum()
    assert total == pytest.approx(deviance.sum(), rel=1e-10)


def test_packing_round_trips():
    counts, _, _ = simulate(n=13, m=20, seed=1)
    np.testing.assert_array_equal(unpack(pack(counts.T), 13), counts.T)
