"""Rating loaders: MovieLens layouts, generic CSV/TSV, id maps and bad input."""

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.recsys.io import read_ratings

from ..conftest import DATA


@pytest.mark.parametrize("text", [
    "1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t5\t5\t881250951\n",          # u.data
    "1::10::4::881250949\n2::10::3::881250950\n1::5::5::881250951\n",          # ratings.dat
    "userId,movieId,rating,timestamp\n1,10,4,881250949\n2,10,3,881250950\n1,5,5,881250951\n",
])
def test_movielens_layouts_read_alike(tmp_path, text):
    path = tmp_path / "ratings"
    path.write_text(text)
    ratings = read_ratings(str(path))
    assert ratings.user_ids.tolist() == ["1", "2"]
    assert ratings.item_ids.tolist() == ["5", "10"]  # numeric ids sorted numerically
    assert ratings.users.tolist() == [0, 1, 0] and ratings.items.tolist() == [1, 1, 0]
    assert ratings.values.tolist() == [4.0, 3.0, 5.0]
    assert ratings.timestamps.tolist() == [881250949, 881250950, 881250951]
    matrix = ratings.matrix().toarray()
    assert matrix.tolist() == [[5.0, 4.0], [0.0, 3.0]]


def test_known_maps_encode_unknown_ids_as_minus_one(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("u1,a,4\nu9,b,2\n")
    ratings = read_ratings(str(path), user_ids=np.array(["u1"]), item_ids=np.array(["b"]))
    assert ratings.users.tolist() == [0, -1] and ratings.items.tolist() == [-1, 0]


def test_implicit_keeps_ratings_at_the_threshold(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("1\t1\t4\n1\t2\t3\n2\t1\t5\n")
    positives = read_ratings(str(path)).implicit(4)
    assert positives.values.tolist() == [1.0, 1.0]
    assert positives.items.tolist() == [0, 0]


@pytest.mark.parametrize("text, message", [
    ("1\t1\tnan\n", "line 1: rating 'nan' is not finite"),
    ("1\t1\t4\n2\t1\tgood\n", "line 2: rating 'good' is not a number"),
    ("1\t1\t4\n2\t1\n", "line 2 has 2 fields"),
    ("1\t1\n", "need user, item, rating"),
    ("", "no ratings"),
])
def test_bad_ratings_say_what_and_where(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(UserInputError, match=message):
        read_ratings(str(path))


def test_ratings_outside_the_declared_range_name_their_line(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("1\t1\t4\n1\t2\t5.5\n")
    assert len(read_ratings(str(path))) == 2
    with pytest.raises(UserInputError, match="line 2: rating '5.5' is outside 1..5"):
        read_ratings(str(path), rating_range=(1, 5))


def test_repeated_ratings_keep_the_last_with_a_warning(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("1\t1\t2\n1\t1\t5\n")
    with pytest.warns(UserWarning, match="1 repeated"):
        ratings = read_ratings(str(path))
    assert ratings.values.tolist() == [5.0]


def test_bundled_synthetic_data_reads():
    ratings = read_ratings(str(DATA / "recsys" / "synthetic_u.data"))
    assert len(ratings) == 20066 and ratings.n_users == 300
    assert set(np.unique(ratings.values)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
