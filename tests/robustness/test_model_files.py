"""A model file is one .npz (arrays and their JSON metadata) that is checked on load: a
truncated, foreign, pickled or nonsensical file is one line and exit 2, never a
prediction of nan."""

import json

import numpy as np
import pytest

from ..conftest import DATA, run_cli

FAITHFUL = DATA / "tabular" / "old_faithful.csv"
RATINGS = DATA / "recsys" / "synthetic_u.data"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from emapps.cli import main

    folder = tmp_path_factory.mktemp("models")
    assert main(["mixture", "fit", str(FAITHFUL), "-k", "2", "--seed", "1", "-q", "-o",
                 str(folder / "m.npz")]) == 0
    assert main(["recsys", "fit", str(RATINGS), "-k", "2", "--max-iter", "2", "--seed", "0",
                 "-q", "-o", str(folder / "r.npz")]) == 0
    return folder


def rewritten(source, target, change):
    """A copy of the model file ``source`` with ``change(meta, arrays)`` applied."""
    with np.load(source) as archive:
        meta = json.loads(str(archive["metadata"]))
        arrays = {name: archive[name] for name in archive.files if name != "metadata"}
    change(meta, arrays)
    np.savez(target, metadata=np.array(json.dumps(meta)), **arrays)
    return target


def negative_weights(meta, arrays):
    arrays["weights"] = np.array([1.5, -0.5])


def nan_means(meta, arrays):
    arrays["means"][0, 0] = np.nan


def not_positive_definite(meta, arrays):
    arrays["covariances"][0] = [[1.0, 2.0], [2.0, 1.0]]


def wrong_k(meta, arrays):
    arrays["weights"] = np.array([0.2, 0.3, 0.5])


def other_columns(meta, arrays):
    meta["columns"] = ["eruptions"]


@pytest.mark.parametrize("change, message", [
    (negative_weights, "the weights must be >= 0 and sum to 1"),
    (nan_means, "NaN or infinite"),
    (not_positive_definite, "not positive definite"),
    (wrong_k, "3 weights for means of shape (2, 2)"),
    (other_columns, "1 column names for 2 features"),
])
def test_a_nonsensical_mixture_model_is_refused(models, tmp_path, capsys, change, message):
    path = rewritten(models / "m.npz", tmp_path / "bad.npz", change)
    status, out, err = run_cli(capsys, "mixture", "predict", path, FAITHFUL)
    assert status == 2 and out == "" and message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("make, message", [
    (lambda path, good: path.write_bytes(good.read_bytes()[:300]), "not an emapps"),
    (lambda path, good: path.write_text("a text file, not an archive"), "not a .npz archive"),
    (lambda path, good: np.savez(path, metadata=np.array([{"format": "x"}], dtype=object)),
     "not an emapps"),
    (lambda path, good: np.savez(path, weights=np.ones(2)), "no metadata"),
])
def test_a_truncated_foreign_or_pickled_file_is_one_line(models, tmp_path, capsys, make,
                                                          message):
    path = tmp_path / "bad.npz"
    make(path, models / "m.npz")
    for argv in (["mixture", "predict", path, FAITHFUL],
                 ["recsys", "recommend", path, "--users", "1"]):
        status, out, err = run_cli(capsys, *argv)
        assert status == 2 and out == "" and message in err and len(err.splitlines()) == 1


def test_a_recommender_whose_ids_do_not_match_its_rows_is_refused(models, tmp_path, capsys):
    def fewer_users(meta, arrays):
        meta["user_ids"] = meta["user_ids"][:-1]

    path = rewritten(models / "r.npz", tmp_path / "bad.npz", fewer_users)
    status, _, err = run_cli(capsys, "recsys", "recommend", path, "--users", "1")
    assert status == 2 and "do not match the model's training rows" in err
    assert not (models / "r.npz.json").exists()   # one file per model
