"""`emapps recsys`: fit, predict, recommend and evaluate from the shell, and user errors."""

import numpy as np
import pytest

from emapps.recsys.synthetic import synthetic_ratings

from ..conftest import DATA, run_cli

SYNTHETIC = DATA / "recsys" / "synthetic_u.data"



def test_fit_then_predict_and_recommend(tmp_path, capsys):
    model = tmp_path / "m.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "-o", model, "-k", "3",
                         "--seed", "0", "-q")
    assert status == 0, err
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("user\titem\n1\t5\n2\t7\nnobody\t5\n")
    status, out, err = run_cli(capsys, "recsys", "predict", model, pairs)
    assert status == 2 and err.strip() == ("emapps: error: unknown user id(s): nobody; the "
                                           "model was not fitted on them (unknown='fallback' "
                                           "gives the fallback instead)") and out == ""
    status, out, err = run_cli(capsys, "recsys", "predict", model, pairs, "--unknown",
                               "fallback")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "user\titem\tprediction\tknown" and len(lines) == 4
    assert all(1.0 <= float(line.split("\t")[2]) <= 5.0 for line in lines[1:])
    assert [line.split("\t")[3] for line in lines[1:]] == ["1", "1", "0"]
    status, out, err = run_cli(capsys, "recsys", "recommend", model, "--users", "1", "-n", "5",
                           "--seen", SYNTHETIC)
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert [row[1] for row in rows] == ["1", "2", "3", "4", "5"]
    rated = {line.split("\t")[1] for line in SYNTHETIC.read_text().splitlines()
             if line.split("\t")[0] == "1"}
    assert not rated & {row[2] for row in rows}  # nothing the user already rated
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_evaluate_rating_cv_prints_every_fold(tmp_path, capsys):
    ratings, _ = synthetic_ratings(n_users=80, n_items=60, seed=2)
    folds = np.random.default_rng(0).integers(0, 3, size=len(ratings))
    path = tmp_path / "folds.tsv"
    path.write_text("".join(f"{ratings.user_ids[u]}\t{ratings.item_ids[i]}\t{int(v)}\t0\t{f}\n"
                            for u, i, v, f in zip(ratings.users, ratings.items,
                                                  ratings.values, folds)))
    status, out, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "rating-cv", "--data",
                           path, "-k", "2", "--seed", "0", "--threads", "1")
    assert status == 0, err
    table = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in table] == ["fold", "0", "1", "2", "mean", "std"]
    assert 0.3 < float(table[4][1]) < 1.5


def test_user_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t1\t4\n1\t2\tNaN\n")
    status, _, err = run_cli(capsys, "recsys", "fit", bad, "-o", tmp_path / "m.npz", "-q")
    assert status == 2 and "line 2: rating 'NaN' is not finite" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "m.npz").exists()
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "-o", tmp_path / "m.npz", "-k",
                         "0", "-q")
    assert status == 2 and "n_factors must be an integer >= 1" in err
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "-o", tmp_path / "m.npz",
                         "--rating-range", "2,5", "-q")
    assert status == 2 and "is outside 2..5" in err and not (tmp_path / "m.npz").exists()
    status, _, err = run_cli(capsys, "recsys", "predict", tmp_path / "absent.npz", bad)
    assert status == 2 and "not an emapps recommender" in err
    status, _, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "rating-cv", "--data",
                         SYNTHETIC)
    assert status == 2 and "needs a fifth column" in err


def test_aspect_model_from_the_shell(tmp_path, capsys):
    model = tmp_path / "aspect.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "--model", "aspect", "-k", "4",
                         "--implicit-threshold", "4", "--seed", "0", "-o", model, "-q")
    assert status == 0, err
    status, out, err = run_cli(capsys, "recsys", "recommend", model, "--users", "3", "-n", "4")
    assert status == 0, err
    assert len(out.splitlines()) == 5
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("1\t5\n")
    status, _, err = run_cli(capsys, "recsys", "predict", model, pairs)
    assert status == 2 and "ranks items but predicts no ratings" in err
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "--model", "implicit", "-k", "3",
                         "--implicit-threshold", "4", "--seed", "0", "-o", tmp_path / "i.npz",
                         "-q")
    assert status == 0, err


def test_evaluate_topn_prints_the_protocol_metrics(tmp_path, capsys):
    lines = SYNTHETIC.read_text().splitlines()
    rng = np.random.default_rng(0)
    test = rng.random(len(lines)) < 0.2
    (tmp_path / "train.tsv").write_text("\n".join(l for l, t in zip(lines, test) if not t))
    (tmp_path / "test.tsv").write_text("\n".join(l for l, t in zip(lines, test) if t))
    for kind in ("implicit", "aspect", "poisson", "multinomial"):
        status, out, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "topn", "--data",
                               tmp_path / "train.tsv", "--test", tmp_path / "test.tsv",
                               "--model", kind, "-k", "4", "--seed", "0", "--threads", "1")
        assert status == 0, err
        metrics = dict(line.split("\t") for line in out.splitlines())
        assert 0.0 < float(metrics["NDCG@10"]) <= 1.0 and int(metrics["users"]) > 100


@pytest.mark.parametrize("kind", ["implicit", "factor", "gaussian-aspect", "aspect", "poisson",
                                  "multinomial"])
def test_explain_lists_classes_and_supporting_items(kind, tmp_path, capsys):
    model = tmp_path / "i.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "--model", kind, "-k", "3",
                         "--implicit-threshold", "4", "--seed", "0", "-o", model, "-q")
    assert status == 0, err
    status, out, err = run_cli(capsys, "recsys", "explain", model, "--user", "1", "-n", "2",
                           "--why", "2", "--seen", SYNTHETIC)
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert len({row[1] for row in rows}) == 2
    assert {row[3] for row in rows} == {"latent_class", "supporting_item"}
    rated = {line.split("\t")[1] for line in SYNTHETIC.read_text().splitlines()
             if line.split("\t")[0] == "1"}
    assert {row[4] for row in rows if row[3] == "supporting_item"} <= rated
    status, _, err = run_cli(capsys, "recsys", "explain", model, "--user", "nobody")
    assert status == 2 and "unknown user id(s): nobody" in err


def test_foldin_recommends_for_new_users(tmp_path, capsys):
    model = tmp_path / "m.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "-k", "3", "--seed", "0",
                         "-o", model, "-q")
    assert status == 0, err
    new = tmp_path / "new.tsv"
    new.write_text("newbie\t5\t5\nnewbie\t7\t1\nother\t9\t4\n")
    status, out, err = run_cli(capsys, "recsys", "foldin", model, new, "-n", "3")
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert [row[0] for row in rows] == ["newbie"] * 3 + ["other"] * 3
    assert not {"5", "7"} & {row[2] for row in rows if row[0] == "newbie"}
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("x\tno-such-item\t3\n")
    status, _, err = run_cli(capsys, "recsys", "foldin", model, unknown)
    assert status == 2 and "none of its items is known" in err


def test_evaluate_foldin_prints_the_protocol_metrics(tmp_path, capsys):
    from emapps.recsys.io import read_ratings

    from .test_evaluate import split_files
    train, given, test = split_files(read_ratings(SYNTHETIC), tmp_path)
    status, out, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "foldin", "--data",
                           train, "--given", given, "--test", test, "-k", "2",
                           "--max-iter", "10", "--seed", "0", "--threads", "1")
    assert status == 0, err
    table = dict(line.split("\t") for line in out.splitlines())
    assert {"rmse", "ms_per_user", "temperature", "retrain_rmse", "inner_rmse[T=2]"} <= set(table)
    assert 0.5 < float(table["rmse"]) < float(table["no_foldin_rmse"])
    status, _, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "foldin", "--data",
                         train, "--test", test)
    assert status == 2 and err.strip().endswith("--protocol foldin needs --given")


def test_gaussian_aspect_model_predicts_and_is_evaluated_by_rating_cv(tmp_path, capsys):
    model = tmp_path / "g.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "--model", "gaussian-aspect",
                         "-k", "4", "--seed", "0", "-o", model, "-q")
    assert status == 0, err
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("user\titem\n1\t5\nnobody\t7\n")
    status, out, err = run_cli(capsys, "recsys", "predict", model, pairs, "--unknown",
                               "fallback")
    assert status == 0, err
    assert all(1.0 <= float(line.split("\t")[2]) <= 5.0 for line in out.splitlines()[1:])
    ratings, _ = synthetic_ratings(n_users=80, n_items=60, seed=2)
    folds = tmp_path / "folds.tsv"
    folds.write_text("".join(f"{ratings.user_ids[u]}\t{ratings.item_ids[i]}\t{int(v)}\t0\t"
                             f"{(u + i) % 2}\n" for u, i, v in zip(ratings.users, ratings.items,
                                                             ratings.values)))
    status, out, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "rating-cv", "--data",
                           folds, "--model", "gaussian-aspect", "-k", "3", "--threads", "1")
    assert status == 0, err
    assert 0.3 < float(out.splitlines()[3].split("\t")[1]) < 1.5
    status, _, err = run_cli(capsys, "recsys", "evaluate", "--protocol", "rating-cv", "--data",
                         folds, "--model", "aspect")
    assert status == 2 and "evaluates --model factor or gaussian-aspect, not aspect" in err


def test_recommend_leaves_out_training_items_unless_asked_and_fit_reports_progress(
        tmp_path, capsys):
    model = tmp_path / "m.npz"
    status, _, err = run_cli(capsys, "recsys", "fit", SYNTHETIC, "-o", model, "-k", "2",
                         "--max-iter", "3", "--seed", "0", "-v", "-q")
    assert status == 0
    assert len([line for line in err.splitlines() if line.startswith("iter ")]) == 3
    rated = {line.split("\t")[1] for line in SYNTHETIC.read_text().splitlines()
             if line.split("\t")[0] == "1"}
    listed = {}
    for flags in (("-n", "50"), ("-n", "400", "--keep-seen")):
        status, out, err = run_cli(capsys, "recsys", "recommend", model, "--users", "1", *flags)
        assert status == 0, err
        listed[flags] = {line.split("\t")[2] for line in out.splitlines()[1:]}
    assert len(listed["-n", "50"]) == 50 and not listed["-n", "50"] & rated
    assert rated <= listed["-n", "400", "--keep-seen"]  # all 400 items ranked
