"""GaussianAspectRecommender (Gaussian pLSA): kernel against a dense twin, monotone
tempered MAP-EM, planted communities recovered, explanations that add up, fold-in,
persistence."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from emapps.kernels.aspect import gaussian_aspect_estep
from emapps.recsys.gaussian_aspect import GaussianAspectRecommender
from emapps.recsys.io import Ratings
from emapps.recsys.registry import load_model


@pytest.mark.parametrize("beta", [1.0, 0.8])
def test_estep_matches_dense_posteriors(beta, threads):
    rng = np.random.default_rng(4)
    indptr = np.array([0, 3, 3, 6], dtype=np.int64)
    items = np.array([0, 2, 4, 1, 3, 4], dtype=np.int64)
    values = rng.normal(size=6)
    log_theta = np.log(rng.dirichlet(np.ones(3), size=3))
    means, variances = rng.normal(size=(5, 3)), rng.uniform(0.3, 2.0, size=(5, 3))
    users = np.repeat(np.arange(3), np.diff(indptr))
    joint = beta * (log_theta[users] + norm.logpdf(values[:, None], means[items],
                                                   np.sqrt(variances[items])))
    q = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    want = np.zeros((5, 3, 3))
    for power in range(3):
        np.add.at(want[:, :, power], items, q * values[:, None] ** power)
    want_users = np.zeros((3, 3))
    np.add.at(want_users, users, q)
    for n_threads in (1, 2):
        threads(n_threads)
        moments, user_class, energy = gaussian_aspect_estep(indptr, items, values, log_theta,
                                                            means, variances, beta)
        np.testing.assert_allclose(moments, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(user_class, want_users, rtol=1e-12)
        assert energy == pytest.approx(logsumexp(joint, axis=1).sum() / beta, rel=1e-12)


def communities(n_users=150, n_items=80, seed=0):
    """Two user communities with opposite tastes on two item halves; (train, test, group)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n_users)
    users = np.repeat(np.arange(n_users), 30)
    items = np.concatenate([rng.choice(n_items, 30, replace=False) for _ in range(n_users)])
    likes = (items < n_items // 2) == (group[users] == 0)
    values = np.clip(np.rint(np.where(likes, 4.5, 1.5) + rng.normal(0, 0.5, users.size)), 1, 5)
    ratings = Ratings(users, items, values, np.array([str(u) for u in range(n_users)]),
                      np.array([str(i) for i in range(n_items)]))
    test = rng.random(users.size) < 0.1
    return ratings.subset(~test), ratings.subset(test), group


def test_em_never_decreases_and_predicts_the_communities_tastes():
    train, test, _ = communities()
    model = GaussianAspectRecommender(2, max_iter=100, tol=0, random_state=0).fit(train)
    trace = np.array(model.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    error = model.predict_codes(test.users, test.items) - test.values
    assert np.sqrt(np.mean(error ** 2)) < 0.75  # the two-level truth has noise sd 0.5
    baseline = np.sqrt(np.mean((test.values - train.values.mean()) ** 2))
    assert baseline > 1.4


def test_explanation_terms_add_up_to_the_prediction():
    train, _, _ = communities()
    model = GaussianAspectRecommender(2, max_iter=300, tol=1e-12, random_state=0,
                                      clip=False).fit(train)
    user, item = 3, 7
    reasons = model.explain_codes(user, item, n=100)
    deviation = reasons["score"] - model.user_mean_[user]
    assert sum(value for _, value in reasons["factors"]) == pytest.approx(deviation, abs=1e-6)
    assert sum(value for _, value in reasons["items"]) == pytest.approx(deviation, abs=1e-3)


def test_fold_in_reproduces_a_fitted_user_and_saving_round_trips(tmp_path):
    train, test, _ = communities()
    model = GaussianAspectRecommender(2, max_iter=200, tol=1e-10, random_state=0).fit(train)
    user = 5
    mine = train.subset(train.users == user)
    folded = model.fold_in(mine.items, mine.values, max_iter=200)
    np.testing.assert_allclose(model.predict_folded(folded, np.arange(train.n_items)),
                               model.scores([user])[0].clip(1, 5), atol=0.02)
    model.save(tmp_path / "g.npz")
    loaded = load_model(tmp_path / "g.npz")
    np.testing.assert_array_equal(loaded.predict_codes(test.users, test.items),
                                  model.predict_codes(test.users, test.items))
    assert loaded.explain_codes(user, 7) == model.explain_codes(user, 7)
