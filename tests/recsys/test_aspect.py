"""AspectRecommender (pLSA): kernel against a dense twin, monotone tempered EM, a planted
topic structure recovered, fold-in, persistence; the ranking metrics by hand."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emapps.kernels.aspect import aspect_estep
from emapps.recsys.aspect import AspectRecommender
from emapps.recsys.io import Ratings
from emapps.recsys.recommender import ranking_metrics
from emapps.recsys.registry import load_model


def planted(n_users=120, n_items=60, n_topics=3, per_user=12, seed=0):
    """Users each drawn from one of n_topics disjoint item blocks."""
    rng = np.random.default_rng(seed)
    block = n_items // n_topics
    group = rng.integers(0, n_topics, size=n_users)
    users, items = [], []
    for user in range(n_users):
        chosen = rng.choice(block, size=per_user, replace=False) + group[user] * block
        users += [user] * per_user
        items += chosen.tolist()
    ratings = Ratings(np.array(users), np.array(items), np.ones(len(users)),
                      np.array([str(u) for u in range(n_users)]),
                      np.array([str(i) for i in range(n_items)]))
    return ratings, group, block


@pytest.mark.parametrize("beta", [1.0, 0.7])
def test_aspect_estep_matches_dense_posteriors(beta, threads):
    rng = np.random.default_rng(1)
    indptr = np.array([0, 3, 3, 5], dtype=np.int64)
    items = np.array([0, 2, 4, 1, 4], dtype=np.int64)
    counts = rng.uniform(0.5, 3.0, size=5)
    log_theta = np.log(rng.dirichlet(np.ones(4), size=3))
    log_phi = np.log(rng.dirichlet(np.ones(5), size=4).T)
    users = np.repeat(np.arange(3), np.diff(indptr))
    joint = beta * (log_theta[users] + log_phi[items])
    posterior = np.exp(joint - logsumexp(joint, axis=1, keepdims=True)) * counts[:, None]
    expected_topic_item = np.zeros((5, 4))
    np.add.at(expected_topic_item, items, posterior)
    expected_user_topic = np.zeros((3, 4))
    np.add.at(expected_user_topic, users, posterior)
    energy = float((counts * logsumexp(joint, axis=1)).sum() / beta)
    for n_threads in (1, 2):
        threads(n_threads)
        topic_item, user_topic, got = aspect_estep(indptr, items, counts, log_theta, log_phi,
                                                   beta)
        np.testing.assert_allclose(topic_item, expected_topic_item, rtol=1e-12)
        np.testing.assert_allclose(user_topic, expected_user_topic, rtol=1e-12)
        assert got == pytest.approx(energy, rel=1e-12)


def test_tempered_em_never_decreases_and_finds_the_planted_blocks():
    ratings, group, block = planted()
    model = AspectRecommender(3, temperature=0.9, max_iter=200, tol=1e-9,
                              random_state=0).fit(ratings)
    assert np.all(np.diff(model.trace_) >= -1e-9 * np.abs(np.array(model.trace_[1:])))
    top = model.recommend_codes(np.arange(ratings.n_users), 5, seen=ratings.matrix())
    assert np.mean(top // block == group[:, None]) > 0.98  # recommendations stay in-block


def test_fold_in_places_a_new_user_in_their_block():
    ratings, _, block = planted()
    model = AspectRecommender(3, max_iter=200, random_state=0).fit(ratings)
    theta = model.fold_in(np.arange(block, block + 5))  # five items of block 1
    scores = theta @ model.phi_.T
    assert np.argmax(scores) // block == 1


def test_save_and_load_round_trip(tmp_path):
    ratings, _, _ = planted()
    model = AspectRecommender(3, max_iter=20, random_state=0).fit(ratings)
    model.save(tmp_path / "aspect.npz")
    loaded = load_model(tmp_path / "aspect.npz")
    np.testing.assert_array_equal(loaded.scores([0, 5]), model.scores([0, 5]))


def test_ranking_metrics_by_hand():
    recommended = np.array([[3, 1, 2, 0, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]])
    relevant = {0: {1, 20}, 1: {30}}
    metrics = ranking_metrics(recommended, relevant, n_items=40)
    assert metrics["P@10"] == pytest.approx((1 / 10 + 0) / 2)
    assert metrics["R@10"] == pytest.approx((1 / 2 + 0) / 2)
    ndcg_user0 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert metrics["NDCG@10"] == pytest.approx(ndcg_user0 / 2)
    assert metrics["MAP@10"] == pytest.approx((0.5 / 2) / 2)
    assert metrics["HR@10"] == pytest.approx(0.5)
    assert metrics["coverage"] == pytest.approx(10 / 40)


def test_aspect_explanation_points_at_the_users_block():
    ratings, group, block = planted()
    model = AspectRecommender(3, max_iter=200, random_state=0).fit(ratings)
    user = 4
    item = int(model.recommend_codes([user], 1, seen=ratings.matrix())[0, 0])
    why = model.explain_codes(user, item)
    assert sum(share for _, share in model.explain_codes(user, item, n=3)["factors"]) == \
        pytest.approx(1.0)
    assert why["score"] == pytest.approx(model.scores([user])[0, item])
    assert all(j // block == group[user] for j, _ in why["items"])
