"""MixtureRecommender: class posteriors against scipy, monotone MAP-EM, planted classes,
fold-in and saving."""

import numpy as np
import pytest
from scipy.special import softmax

from emapps.kernels.discrete import multinomial_responsibilities
from emapps.recsys.multinomial import MixtureRecommender
from emapps.recsys.registry import load_model

from .test_aspect import planted


def test_responsibilities_match_a_dense_softmax():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.8, size=(6, 5)).astype(float)
    rows, cols = np.nonzero(counts)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=6))]).astype(np.int64)
    log_weights = np.log(rng.dirichlet(np.ones(3)))
    log_probs = np.log(rng.dirichlet(np.ones(5), size=3))
    got = multinomial_responsibilities(indptr, cols.astype(np.int64), counts[rows, cols],
                                       log_weights, log_probs)
    expected = softmax(log_weights + counts @ log_probs.T, axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_em_never_decreases_and_finds_the_planted_classes():
    ratings, group, block = planted()
    model = MixtureRecommender(3, max_iter=100, tol=0, random_state=0).fit(ratings)
    trace = np.array(model.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    top = model.recommend_codes(np.arange(ratings.n_users), 5, seen=ratings.matrix())
    assert np.mean(top // block == group[:, None]) > 0.98
    scores = model.folded_scores(np.arange(2 * block, 2 * block + 4))
    assert np.argmax(scores) // block == 2


def test_save_and_load_round_trip(tmp_path):
    ratings, _, _ = planted()
    model = MixtureRecommender(3, max_iter=10, random_state=0).fit(ratings)
    model.save(tmp_path / "mix.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "mix.npz").scores([0, 1]),
                                  model.scores([0, 1]))


def test_explanation_points_at_the_users_own_block():
    ratings, group, block = planted()
    model = MixtureRecommender(3, max_iter=100, random_state=0).fit(ratings)
    user = 2
    item = int(model.recommend_codes(user, 1)[0])
    reasons = model.explain_codes(user, item, n=3)
    assert sum(v for _, v in reasons["factors"]) == pytest.approx(reasons["score"], rel=1e-10)
    assert all(j // block == group[user] for j, _ in reasons["items"])
    assert all(value > 0 for _, value in reasons["items"])
