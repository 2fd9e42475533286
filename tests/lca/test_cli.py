"""emapps lca fit / predict from the shell."""

import json

import numpy as np

from ..conftest import DATA, run_cli

ELECTION_ITEMS = "MORALG,CARESG,KNOWG,LEADG,DISHONG,INTELG,MORALB,CARESB,KNOWB,LEADB,DISHONB,INTELB"


def test_fit_chooses_k_writes_the_model_and_predict_reads_it(tmp_path, capsys):
    model, record = tmp_path / "m.npz", tmp_path / "run.json"
    status, out, err = run_cli(capsys, "lca", "fit", DATA / "lca" / "carcinoma.csv", "-k",
                               "1..4", "--n-init", "20", "--seed", "1", "-o", model,
                               "--json", record, "--se", "-q", "--plot", tmp_path / "plots")
    assert status == 0, err
    for picture in ("profiles.png", "criteria.png"):
        assert (tmp_path / "plots" / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["K", "loglik", "params", "BIC"]
    rows = {int(line.split()[0]): line.split() for line in lines[1:5]}
    assert float(rows[3][1]) == -293.7050 and rows[3][2] == "23"
    assert "chosen: K=3 (BIC 697.1357)" in out   # poLCA's BIC of the 3-class model
    assert "A\t1\t" in out and "share\t\t" in out and "(" in out   # profiles with SEs
    run = json.loads(record.read_text())
    assert run["chosen_k"] == 3 and len(run["selection"]) == 4
    assert run["log_likelihood"] == np.float64(run["selection"][2]["log_likelihood"])
    assert len(run["standard_errors"]["weights"]) == 3
    status, out, err = run_cli(capsys, "lca", "predict", model, DATA / "lca" / "carcinoma.csv")
    assert status == 0, err
    table = out.splitlines()
    assert table[0] == "row\tclass\tprob_1\tprob_2\tprob_3\tlog_likelihood" and len(table) == 119
    probs = np.array([[float(v) for v in line.split("\t")[2:5]] for line in table[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_missing_answers_and_named_items(tmp_path, capsys):
    status, out, err = run_cli(capsys, "lca", "fit", DATA / "lca" / "election.csv", "--items",
                               ELECTION_ITEMS, "-k", "3", "--n-init", "30", "--seed", "2",
                               "-q")
    assert status == 0, err
    assert float(out.splitlines()[1].split()[1]) == -21311.5357   # poLCA, na.rm = FALSE


def test_bad_input_is_one_line(tmp_path, capsys):
    for argv, message in (
            (["--items", "A,Z"], "no column(s) Z"),
            (["--items", "A,A"], "item(s) named more than once: A"),
            (["-k", "200"], "200 classes for"),
            (["-o", "-"], "a model is a file"),
            (["--n-init", "0"], "n_init must be an integer >= 1"),
            (["--n-init", "3", "--final", "5"], "n_final (5) must be at most n_init (3)"),
            (["--tol", "-1"], "tol must be a number >= 0"),
            (["--bootstrap", "1"], "--bootstrap needs at least 2 replicates"),
            (["--continuous", "A", "--counts", "A"], "named more than once: A"),
    ):
        status, out, err = run_cli(capsys, "lca", "fit", DATA / "lca" / "carcinoma.csv",
                                   *argv)   # not quiet: settings fail before any reading
        assert status == 2 and out == "" and message in err, err
        lines = err.strip().splitlines()
        assert lines[-1].startswith("emapps: error:") and len(lines) == 1 + ("200" in argv)
    model = tmp_path / "m.npz"
    assert run_cli(capsys, "lca", "fit", DATA / "lca" / "values.csv", "-k", "2", "-o", model,
                   "-q")[0] == 0
    status, out, err = run_cli(capsys, "lca", "predict", model, DATA / "lca" / "gss82.csv")
    assert status == 2 and "no column(s) A, B, C, D" in err


def test_a_measurement_beside_the_items(tmp_path, capsys):
    model = tmp_path / "m.npz"
    status, out, err = run_cli(capsys, "lca", "fit", DATA / "lca" / "election.csv", "--items",
                               ELECTION_ITEMS, "--continuous", "AGE", "-k", "3", "--n-init",
                               "10", "--seed", "1", "-o", model, "-q")
    assert status == 0, err
    rows = out.splitlines()
    assert rows[1].split()[:3] == ["3", "-28832.9360", "116"]   # StepMix's maximum
    assert [line.split("\t")[:2] for line in rows if line.startswith("AGE")] == [
        ["AGE", "mean"], ["AGE", "sd"]]
    status, out, err = run_cli(capsys, "lca", "predict", model, DATA / "lca" / "election.csv")
    assert status == 0 and len(out.splitlines()) == 1786, err


def test_covariates_predict_class_membership(tmp_path, capsys):
    lines = (DATA / "lca" / "election.csv").read_text().splitlines()
    party = lines[0].split(",").index('"PARTY"')
    table = tmp_path / "party.csv"
    table.write_text("\n".join([lines[0], *(line for line in lines[1:]
                                            if line.split(",")[party])]) + "\n")
    model = tmp_path / "m.npz"
    status, out, err = run_cli(capsys, "lca", "fit", table, "--items", ELECTION_ITEMS,
                               "--covariates", "PARTY", "-k", "3", "--n-init", "5", "--seed",
                               "1", "-o", model, "-q")
    assert status == 0, err
    logits = [line.split("\t") for line in out.splitlines() if "\tlogit\t" in line]
    assert [row[0] for row in logits] == ["(intercept)", "PARTY"]
    assert logits[1][2] == "0" or float(logits[1][2]) == 0.0
    status, out, err = run_cli(capsys, "lca", "predict", model, table)
    assert status == 0 and len(out.splitlines()) == len(table.read_text().splitlines()), err
    status, out, err = run_cli(capsys, "lca", "fit", DATA / "lca" / "election.csv", "--items",
                               ELECTION_ITEMS, "--covariates", "PARTY", "-k", "3", "-q")
    assert status == 2 and "covariate PARTY is missing for 25 respondents" in err
