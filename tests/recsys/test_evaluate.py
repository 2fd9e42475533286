"""Protocol helpers: the cold-start split, fold-in evaluation and its temperature choice."""

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.recsys.evaluate import choose_foldin_temperature, cold_start_split, foldin
from emapps.recsys.factor import FactorRecommender
from emapps.recsys.io import read_ratings

from ..conftest import DATA

SYNTHETIC = DATA / "recsys" / "synthetic_u.data"


@pytest.fixture(scope="module")
def ratings():
    return read_ratings(SYNTHETIC)


def test_cold_start_split_gives_each_new_users_earliest_ratings(ratings):
    train, given, test = cold_start_split(ratings, n_given=10, fraction=0.2, seed=3)
    assert len(train) + len(given) + len(test) == len(ratings)
    new = np.unique(given.users)
    assert len(new) == round(0.2 * ratings.n_users)
    assert not np.isin(train.users, new).any()
    assert np.array_equal(np.unique(test.users), new)
    for user in new[:20]:
        first = given.timestamps[given.users == user]
        assert len(first) == 10
        assert first.max() <= test.timestamps[test.users == user].min()


def test_cold_start_split_needs_timestamps(ratings):
    from dataclasses import replace
    with pytest.raises(UserInputError, match="timestamps"):
        cold_start_split(replace(ratings, timestamps=None))


def test_temperature_is_chosen_on_the_training_rows_only(ratings):
    best, errors = choose_foldin_temperature(ratings,
                                             FactorRecommender(2, max_iter=10, random_state=0))
    assert best == min(errors, key=errors.get)
    assert all(0.3 < value < 1.5 for value in errors.values())


def split_files(ratings, folder):
    """Protocol C's three files from a cold-start split of ``ratings``."""
    paths = []
    for name, part in zip(("train", "given", "test"), cold_start_split(ratings, seed=11)):
        path = folder / f"{name}.tsv"
        path.write_text("".join(
            f"{part.user_ids[u]}\t{part.item_ids[i]}\t{v:g}\t{t}\n"
            for u, i, v, t in zip(part.users, part.items, part.values, part.timestamps)))
        paths.append(path)
    return paths


def test_foldin_protocol_end_to_end(ratings, tmp_path):
    metrics = foldin(*split_files(ratings, tmp_path),
                     FactorRecommender(2, max_iter=10, random_state=0))
    assert metrics["users"] == round(0.2 * ratings.n_users)
    assert metrics["temperature"] == 1.0  # the synthetic ratings follow the model: no tempering
    # ten ratings tell a lot about a user of a low-rank model
    assert metrics["rmse"] < metrics["no_foldin_rmse"] - 0.1
    assert abs(metrics["rmse_untempered"] - metrics["retrain_rmse"]) < 0.05
