"""FactorRecommender: monotone MAP-EM, a known latent model recovered, fold-in, persistence."""

import numpy as np
import pytest

from emapps.recsys.factor import FactorRecommender
from emapps.recsys.io import Ratings
from emapps.recsys.registry import load_model
from emapps.recsys.synthetic import synthetic_ratings


@pytest.fixture(scope="module")
def continuous():
    return synthetic_ratings(n_users=200, n_items=150, n_factors=2, rounded=False, seed=1)


def test_the_bound_never_decreases(continuous):
    ratings, _ = continuous
    model = FactorRecommender(4, max_iter=40, tol=0, random_state=0).fit(ratings)
    assert len(model.trace_) == 40
    assert np.all(np.diff(model.trace_) >= -1e-8 * np.abs(model.trace_[1:]))


def test_recovers_the_generating_model(continuous):
    ratings, truth = continuous
    rng = np.random.default_rng(0)
    test = rng.random(len(ratings)) < 0.1
    model = FactorRecommender(2, reg_factors=1.0, reg_bias=1.0, max_iter=200, tol=1e-7,
                              random_state=0, clip=False).fit(ratings.subset(~test))
    held = ratings.subset(test)
    noise_free = truth.expected(held.users, held.items)
    predicted = model.predict_codes(held.users, held.items)
    # close to the noise-free ratings, far better than the item means
    assert np.sqrt(np.mean((predicted - noise_free) ** 2)) < 0.3
    assert np.sqrt(model.params_.noise_var) == pytest.approx(truth.noise_sd, rel=0.1)


def test_fold_in_matches_the_fitted_user(continuous):
    ratings, _ = continuous
    model = FactorRecommender(3, random_state=0).fit(ratings)
    user = 7
    mine = ratings.subset(ratings.users == user)
    factors = model.fold_in(mine.items, mine.values)
    np.testing.assert_allclose(factors, model.user_factors_[user], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.predict_folded(factors, mine.items),
                               model.predict_codes(mine.users, mine.items))


def test_same_seed_same_model_at_any_thread_count(continuous, threads):
    ratings, _ = continuous
    threads(1)
    one = FactorRecommender(3, random_state=5, max_iter=10).fit(ratings)
    threads(2)
    two = FactorRecommender(3, random_state=5, max_iter=10).fit(ratings)
    assert np.array_equal(one.params_.means, two.params_.means)


def test_save_and_load_round_trip_without_pickle(continuous, tmp_path):
    ratings, _ = continuous
    model = FactorRecommender(3, random_state=0, max_iter=5).fit(ratings)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    users, items = ratings.users[:50], ratings.items[:50]
    np.testing.assert_array_equal(loaded.predict_codes(users, items),
                                  model.predict_codes(users, items))


def test_partial_fit_adds_users_and_items_and_keeps_improving(continuous):
    ratings, _ = continuous
    old = ratings.subset(ratings.users < 150)
    model = FactorRecommender(3, max_iter=30, random_state=0).fit(old)
    new = ratings.subset(ratings.users >= 150)
    new_ids = Ratings(new.users, new.items, new.values, new.user_ids, new.item_ids)
    extra = Ratings(np.array([0]), np.array([0]), np.array([4.0]), np.array(["brand-new"]),
                    np.array(["item-new"]))
    model.partial_fit(new_ids, max_iter=10)
    model.partial_fit(extra, max_iter=3)
    assert len(model.user_ids_) == 201 and model.item_ids_[-1] == "item-new"
    assert np.all(np.diff(model.trace_) >= -1e-8 * np.abs(np.array(model.trace_[1:])))
    codes = {uid: k for k, uid in enumerate(model.user_ids_.tolist())}
    held = ratings.subset(ratings.users >= 150)
    users = np.array([codes[held.user_ids[u]] for u in held.users])
    rmse = np.sqrt(np.mean((model.predict_codes(users, held.items) - held.values) ** 2))
    assert rmse < 0.8  # the new users are now modelled (noise sd 0.5)


def test_tempered_fold_in_is_the_posterior_of_each_rating_counted_one_over_t(continuous):
    ratings, _ = continuous
    model = FactorRecommender(3, random_state=0, max_iter=10).fit(ratings)
    mine = ratings.subset(ratings.users == 11)
    twice = model.fold_in(np.tile(mine.items, 2), np.tile(mine.values, 2), temperature=2.0)
    np.testing.assert_allclose(twice, model.fold_in(mine.items, mine.values), rtol=1e-10,
                               atol=1e-12)
    cold = model.fold_in(mine.items, mine.values, temperature=1e12)
    np.testing.assert_allclose(cold, 0.0, atol=1e-9)  # no evidence: the prior mean


def test_explanation_terms_add_up_to_the_prediction(continuous):
    ratings, _ = continuous
    model = FactorRecommender(3, random_state=0, max_iter=10, clip=False).fit(ratings)
    user, item = 4, 9
    reasons = model.explain_codes(user, item, n=1000)
    assert reasons["score"] == pytest.approx(
        model.global_mean_ + sum(value for _, value in reasons["factors"]), rel=1e-10)
    user_part = reasons["score"] - model.global_mean_ - model.params_.means[item, 0]
    assert sum(value for _, value in reasons["items"]) == pytest.approx(user_part, rel=1e-8)
    assert len(reasons["items"]) == int(np.sum(ratings.users == user))


def test_a_loaded_model_saves_again_unchanged(continuous, tmp_path):
    ratings, _ = continuous
    FactorRecommender(2, random_state=4, max_iter=3).fit(ratings).save(tmp_path / "a.npz")
    load_model(tmp_path / "a.npz").save(tmp_path / "b.npz")
    metadata = [np.load(tmp_path / name)["metadata"] for name in ("a.npz", "b.npz")]
    assert str(metadata[0]) == str(metadata[1]) and not (tmp_path / "a.npz.json").exists()
    loaded = load_model(tmp_path / "b.npz")
    users, items = ratings.users[:20], ratings.items[:20]
    np.testing.assert_array_equal(loaded.predict_codes(users, items),
                                  load_model(tmp_path / "a.npz").predict_codes(users, items))
