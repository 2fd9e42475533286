"""Recommenders take and return the users' own ids; unknown ids are an error or a
documented fallback, the same in predict and recommend."""

import numpy as np
import pytest

from emapps.recsys import (FactorRecommender, ImplicitFactorRecommender, UnknownIdError,
                           read_ratings)
from emapps.recsys.synthetic import synthetic_ratings


@pytest.fixture(scope="module")
def fitted():
    ratings, _ = synthetic_ratings(n_users=120, n_items=90, seed=3)
    test = np.random.default_rng(0).random(len(ratings)) < 0.1
    model = FactorRecommender(3, random_state=0).fit(ratings.subset(~test))
    return model, ratings, ratings.subset(test)


def test_predict_takes_the_ids_of_the_ratings_file(fitted):
    model, ratings, held = fitted
    raw_users = [int(value) for value in ratings.user_ids[held.users]]   # as a user has them
    raw_items = [int(value) for value in ratings.item_ids[held.items]]
    by_id = model.predict(raw_users, raw_items)
    by_code = model.predict_codes(model.user_codes(raw_users), model.item_codes(raw_items))
    np.testing.assert_array_equal(by_id, by_code)
    rmse = np.sqrt(np.mean((by_id - held.values) ** 2))
    codes_as_ids = model.predict_codes(np.array(raw_users) % len(model.user_ids_),
                                       np.array(raw_items) % len(model.item_ids_))
    assert rmse < np.sqrt(np.mean((codes_as_ids - held.values) ** 2))


def test_unknown_ids_are_an_error_or_the_documented_fallback(fitted):
    model, _, _ = fitted
    with pytest.raises(UnknownIdError, match="unknown user id"):
        model.predict(["nobody"], [model.item_ids_[0]])
    with pytest.raises(UnknownIdError, match="unknown item id"):
        model.predict([model.user_ids_[0]], ["nothing"])
    with pytest.raises(UnknownIdError, match="unknown user id"):
        model.recommend("nobody")
    fallback = model.predict(["nobody", model.user_ids_[0]], [model.item_ids_[0], "nothing"],
                             unknown="fallback")
    item_mean = model.global_mean_ + model.params_.means[0, 0]
    assert fallback[0] == pytest.approx(np.clip(item_mean, *model.rating_range_))
    assert fallback[1] == pytest.approx(model.global_mean_)
    popular, _ = model.recommend("nobody", 5, unknown="fallback")
    counts = np.bincount(model.feedback_.items, minlength=len(model.item_ids_))
    assert list(popular) == list(model.item_ids_[np.argsort(-counts, kind="stable")[:5]])


def test_recommend_returns_item_ids_and_scores_best_first(fitted):
    model, ratings, _ = fitted
    user = model.user_ids_[4]
    items, scores = model.recommend(user, 7)
    assert items.shape == (7,) and np.all(np.diff(scores) <= 0)
    rated = set(ratings.item_ids[ratings.items[ratings.users == 4]])
    training = set(model.item_ids_[model.feedback_.items[
        model.feedback_.indptr[4]:model.feedback_.indptr[5]]])
    assert not set(items) & training
    many, _ = model.recommend([user, model.user_ids_[5]], 7)
    assert list(many[0]) == list(items)
    seen_items, _ = model.recommend(user, 7, seen=ratings)
    assert not set(seen_items) & rated


def test_similar_items_and_users_leave_out_the_query(fitted):
    model, _, _ = fitted
    items, similarity = model.similar_items(model.item_ids_[0], 5)
    assert model.item_ids_[0] not in items and np.all(np.diff(similarity) <= 0)
    assert np.all(similarity <= 1 + 1e-12)
    users, _ = model.similar_users(model.user_ids_[0], 3)
    assert len(users) == 3 and model.user_ids_[0] not in users


def test_explain_names_items_by_id(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("".join(f"u{u}\ti{(u * 7 + j) % 30}\t1\n" for u in range(40)
                            for j in range(6)))
    ratings = read_ratings(path)
    model = ImplicitFactorRecommender(4, random_state=0).fit(ratings)
    items, _ = model.recommend("u3", 2)
    reasons = model.explain("u3", items[0], n=3)
    assert all(item.startswith("i") for item, _ in reasons["items"])


@pytest.mark.parametrize("kind", ["aspect", "implicit", "poisson", "multinomial"])
def test_similar_items_and_users_share_the_planted_block(kind):
    from emapps.recsys import make_model

    from .test_aspect import planted

    ratings, group, block = planted()
    model = make_model(kind, 3, random_state=0).fit(ratings)
    for item in (0, block, 2 * block):
        similar, _ = model.similar_items(str(item), 5)
        assert all(int(other) // block == item // block for other in similar), kind
    user = int(np.flatnonzero(group == 1)[0])
    similar, _ = model.similar_users(str(user), 5)
    assert np.mean(group[similar.astype(int)] == 1) >= 0.8, kind
