"""ImplicitFactorRecommender: E-step against dense Gaussians over every entry, monotone EM,
planted structure, fold-in, persistence."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emapps.kernels.implicit import implicit_estep
from emapps.kernels.linalg import unpack_lower
from emapps.recsys.implicit import ImplicitFactorRecommender
from emapps.recsys.io import Ratings
from emapps.recsys.registry import load_model

from .test_aspect import planted


def test_estep_matches_dense_gaussians_over_all_entries(threads):
    rng = np.random.default_rng(0)
    n_users, n_items, n_factors, prior = 6, 9, 3, 2.5
    feedback = rng.random((n_users, n_items)) < 0.3
    extra_dense = np.where(feedback, rng.uniform(1, 4, size=feedback.shape), 0.0)
    indptr = np.concatenate([[0], np.cumsum(feedback.sum(axis=1))]).astype(np.int64)
    items = np.nonzero(feedback)[1].astype(np.int64)
    extra = extra_dense[feedback]
    loadings = rng.normal(size=(n_items, n_factors))
    expected_loglik, moments, means = 0.0, [], []
    for u in range(n_users):
        confidence = 1.0 + extra_dense[u]
        p = feedback[u].astype(float)
        covariance = np.diag(1 / confidence) + loadings @ loadings.T / prior
        expected_loglik += multivariate_normal(np.zeros(n_items), covariance).logpdf(p)
        precision = prior * np.eye(n_factors) + loadings.T @ (confidence[:, None] * loadings)
        posterior = np.linalg.inv(precision)
        mean = posterior @ loadings.T @ (confidence * p)
        moments.append(posterior + np.outer(mean, mean))
        means.append(mean)
    expected_loglik += n_users * n_items * 0.5 * np.log(2 * np.pi)  # the kernel leaves it out
    for n_threads in (1, 2):
        threads(n_threads)
        second, first, user_moment, loglik = implicit_estep(indptr, items, extra, loadings,
                                                            prior)
        assert loglik == pytest.approx(expected_loglik, rel=1e-10)
        np.testing.assert_allclose(user_moment, sum(moments), rtol=1e-10)
        full = unpack_lower(second, n_factors)
        for i in range(n_items):
            users = np.flatnonzero(feedback[:, i])
            want = sum((extra_dense[u, i] * moments[u] for u in users), np.zeros((3, 3)))
            np.testing.assert_allclose(full[i], want, rtol=1e-10, atol=1e-12)
            want_first = sum(((1 + extra_dense[u, i]) * means[u] for u in users), np.zeros(3))
            np.testing.assert_allclose(first[i], want_first, rtol=1e-10, atol=1e-12)


def test_em_never_decreases_and_recommends_within_the_planted_blocks():
    ratings, group, block = planted()
    model = ImplicitFactorRecommender(4, max_iter=25, tol=0, random_state=0).fit(ratings)
    trace = np.array(model.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    top = model.recommend_codes(np.arange(ratings.n_users), 5, seen=ratings.matrix())
    assert np.mean(top // block == group[:, None]) > 0.98


def test_fold_in_is_the_fitted_users_posterior_and_saving_round_trips(tmp_path):
    ratings, _, _ = planted()
    model = ImplicitFactorRecommender(4, max_iter=10, random_state=0).fit(ratings)
    user = 11
    np.testing.assert_allclose(model.fold_in(ratings.items[ratings.users == user]),
                               model.user_factors_[user], rtol=1e-10, atol=1e-12)
    model.save(tmp_path / "implicit.npz")
    loaded = load_model(tmp_path / "implicit.npz")
    np.testing.assert_array_equal(loaded.scores([0, 3]), model.scores([0, 3]))


def test_explanations_add_up_to_the_score():
    ratings, group, block = planted()
    model = ImplicitFactorRecommender(4, max_iter=10, random_state=0).fit(ratings)
    user = 5
    item = int(model.recommend_codes([user], 1, seen=ratings.matrix())[0, 0])
    why = model.explain_codes(user, item, n=1000)
    assert sum(value for _, value in why["items"]) == pytest.approx(why["score"], rel=1e-8)
    assert sum(value for _, value in why["factors"]) == pytest.approx(why["score"], rel=1e-8)
    strongest = why["items"][0][0]
    assert strongest // block == group[user]  # the support comes from the user's own block


def test_partial_fit_adds_users_and_items_and_keeps_improving():
    ratings, group, block = planted()
    old = ratings.subset(ratings.users < 90)
    model = ImplicitFactorRecommender(4, max_iter=25, tol=0, random_state=0).fit(old)
    new = ratings.subset(ratings.users >= 90)
    extra = Ratings(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 1.0]),
                    np.array(["brand-new"]), np.array(["0", "item-new"]))
    model.partial_fit(new, max_iter=10)
    model.partial_fit(extra, max_iter=3)
    assert len(model.user_ids_) == ratings.n_users + 1 and model.item_ids_[-1] == "item-new"
    assert model.item_factors_.shape == (ratings.n_items + 1, 4)
    assert np.all(np.diff(model.trace_) >= -1e-9 * np.abs(np.array(model.trace_[1:])))
    assert len(model.feedback_.items) == len(ratings) + 2  # every row kept, none twice
    codes = {uid: k for k, uid in enumerate(model.user_ids_.tolist())}
    users = np.array([codes[str(u)] for u in range(90, ratings.n_users)])
    top = model.recommend_codes(users, 5)
    assert np.mean(top // block == group[90:, None]) > 0.95  # new users modelled


def test_recommend_for_one_user_or_many_leaves_out_training_items():
    ratings, _, _ = planted()
    model = ImplicitFactorRecommender(3, max_iter=5, random_state=0).fit(ratings)
    one = model.recommend_codes(4, 10)
    assert one.shape == (10,)
    np.testing.assert_array_equal(one, model.recommend_codes([3, 4], 10)[1])
    mine = ratings.items[ratings.users == 4]
    assert not np.isin(one, mine).any()
    assert np.isin(mine, model.recommend_codes(4, ratings.n_items, filter_seen=False)).all()
