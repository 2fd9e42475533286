"""PoissonRecommender: monotone MAP-EM, planted structure, the Poisson likelihood, saving."""

import numpy as np
import pytest
from scipy.stats import poisson

from emapps.recsys.io import UserRows
from emapps.recsys.poisson import PoissonEM, PoissonParams, PoissonRecommender
from emapps.recsys.registry import load_model

from .test_aspect import planted


def test_estep_loglik_is_the_poisson_likelihood_of_every_entry():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.7, size=(5, 7)).astype(float)
    users, items = np.nonzero(counts)
    rows = UserRows.build(users, items, counts[users, items], 5)
    params = PoissonParams(rng.gamma(1.0, 1.0, size=(5, 3)), rng.gamma(1.0, 1.0, size=(7, 3)))
    stats = PoissonEM(5, 7, 3, 1.0, 0.0).e_step(params, rows)
    rates = params.theta @ params.beta.T
    log_factorials = float(np.sum([np.log(np.arange(1, n + 1)).sum() for n in counts.ravel()]))
    expected = poisson.logpmf(counts, rates).sum() + log_factorials
    assert stats["loglik"] == pytest.approx(expected, rel=1e-10)


def test_map_em_never_decreases_and_recommends_within_the_planted_blocks():
    ratings, group, block = planted()
    model = PoissonRecommender(3, max_iter=150, tol=0, random_state=0).fit(ratings)
    trace = np.array(model.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    top = model.recommend_codes(np.arange(ratings.n_users), 5, seen=ratings.matrix())
    assert np.mean(top // block == group[:, None]) > 0.98


def test_save_and_load_round_trip(tmp_path):
    ratings, _, _ = planted()
    model = PoissonRecommender(3, max_iter=10, random_state=0).fit(ratings)
    model.save(tmp_path / "poisson.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "poisson.npz").scores([1, 2]),
                                  model.scores([1, 2]))


def test_explanation_terms_add_up_to_the_score_at_convergence():
    ratings, _, _ = planted()
    model = PoissonRecommender(3, shape=1.0, rate=0.1, max_iter=2000, tol=1e-13,
                               random_state=0).fit(ratings)
    reasons = model.explain_codes(5, 7, n=1000)
    assert sum(v for _, v in reasons["factors"]) == pytest.approx(reasons["score"], rel=1e-10)
    # with shape = 1 the prior adds nothing: the feedback items carry the whole score
    assert sum(v for _, v in reasons["items"]) == pytest.approx(reasons["score"], rel=1e-4)
