"""`emapps mixture` from the shell's point of view: outputs, exit codes, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ..conftest import DATA, run_cli

FAITHFUL = str(DATA / "tabular" / "old_faithful.csv")
AIRQUALITY = str(DATA / "tabular" / "airquality.csv")



def test_version_is_bare(capsys):
    status, out, _ = run_cli(capsys, "--version")
    assert status == 0 and out.strip().count(".") == 2 and " " not in out.strip()


def test_help_does_not_import_numba():
    code = "import sys; from emapps.cli import main; main(['--help']); print('numba' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip().endswith("False")


def test_fit_select_save_predict(tmp_path, capsys):
    model, record = tmp_path / "m.npz", tmp_path / "run.json"
    status, out, err = run_cli(capsys, "mixture", "fit", FAITHFUL, "-k", "1..3", "--covariance",
                           "full,tied", "--seed", "3", "-o", str(model), "--record", str(record))
    assert status == 0, err
    assert "chosen: K=" in out and "BIC" in out and len(out.splitlines()) > 7
    meta = json.loads(record.read_text())
    assert meta["seed"] == 3 and len(meta["selection"]) == 6 and meta["trace"]
    status, out, err = run_cli(capsys, "mixture", "predict", str(model), FAITHFUL)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("row\tlabel\tprob_0") and len(lines) == 273
    assert [line.split("\t")[0] for line in lines[1:]] == [str(n) for n in range(1, 273)]
    probabilities = np.array([[float(v) for v in line.split("\t")[2:-1]] for line in lines[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_bootstrap_standard_errors_are_printed_and_recorded(tmp_path, capsys):
    record = tmp_path / "run.json"
    status, out, err = run_cli(capsys, "mixture", "fit", FAITHFUL, "-k", "2", "--seed", "2",
                           "--bootstrap", "10", "--record", str(record))
    assert status == 0, err
    assert out.count("±") == 6  # two components x (weight + two means)
    assert len(json.loads(record.read_text())["bootstrap"]["means_se"]) == 2


def test_same_seed_same_model_file(tmp_path, capsys):
    outputs = []
    for name in ("a.npz", "b.npz"):
        assert run_cli(capsys, "mixture", "fit", FAITHFUL, "-k", "2", "--seed", "9", "-q",
                   "-o", str(tmp_path / name))[0] == 0
        with np.load(tmp_path / name) as archive:
            outputs.append(archive["means"])
    assert np.array_equal(*outputs)


def test_impute_fills_only_the_gaps(tmp_path, capsys):
    out_file = tmp_path / "filled.csv"
    status, _, err = run_cli(capsys, "mixture", "impute", AIRQUALITY, "--columns",
                         "Ozone,Solar.R,Wind,Temp", "-k", "2", "--seed", "1", "-o", str(out_file))
    assert status == 0, err and "filled 44 missing values" in err
    from emapps.io.tables import read_table
    filled, names = read_table(str(out_file))
    original, _ = read_table(AIRQUALITY)
    assert names[0] == "Ozone" and not np.isnan(filled).any()
    seen = ~np.isnan(original)
    np.testing.assert_allclose(filled[seen], original[seen])


def test_impute_with_a_saved_model(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run_cli(capsys, "mixture", "fit", AIRQUALITY, "--columns", "Ozone,Solar.R,Wind,Temp",
               "-k", "2", "--seed", "1", "-q", "-o", str(model))[0] == 0
    status, out, err = run_cli(capsys, "mixture", "impute", AIRQUALITY, "--model", str(model))
    assert status == 0, err
    assert "NaN" not in out and "nan" not in out


def test_plot_writes_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    status, _, err = run_cli(capsys, "mixture", "fit", FAITHFUL, "-k", "1..2", "--seed", "1", "-q",
                         "--plot", str(tmp_path))
    assert status == 0, err
    for name in ("criterion.png", "trace.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("content, expected", [
    ("", "empty file"),
    ("a,b\n", "no data rows"),
    ("a,b\n1,2\n3,x\n", "line 3, column 'b': 'x' is not a number"),
    ("a,b\n1,2\n3\n", "line 3: 1 fields"),
    ("a,b\n1,2\nNA,NA\n3,4\n5,1\n", "row 1 has no observed values"),
    ("a,b\n1,2\n3,4\n", "larger than the number of rows"),
    ("a,b\n1,5\n2,5\n3,5\n4,5\n5,5\n6,5\n", "zero variance|singular covariance|no candidate"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path, capsys, content, expected):
    import re
    path = write(tmp_path, "bad.csv", content)
    status, out, err = run_cli(capsys, "mixture", "fit", path, "-k", "3", "--covariance", "diag",
                           "--reg-covar", "0", "--seed", "0", "-q")
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and re.search(expected, err), err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("argv, expected", [
    (["-k", "two"], "-k must be a number"),
    (["-k", "0..3"], "-k must be positive"),
    (["--covariance", "round"], "--covariance must be among"),
    (["--criterion", "xyz"], "Invalid value for '--criterion'"),
    (["--threads", "0"], "--threads must be between"),
    (["--columns", "nope"], "no column(s) nope"),
    (["--bogus"], "No such option"),
])
def test_wrong_options_give_one_line(capsys, argv, expected):
    status, out, err = run_cli(capsys, "mixture", "fit", FAITHFUL, *argv)
    assert status == 2 and expected in err and len(err.strip().splitlines()) == 1, err


def test_unwritable_output_fails_before_fitting(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    status, out, err = run_cli(capsys, "mixture", "fit", FAITHFUL, "-k", "2", "-q",
                           "-o", str(blocker / "m.npz"))
    assert status == 2 and "cannot write" in err and out == ""
    assert len(err.strip().splitlines()) == 1


def test_inputs_are_never_overwritten(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n3,\n5,6\n7,1\n")
    before = data.read_bytes()
    assert run_cli(capsys, "mixture", "impute", str(data), "-k", "1", "--seed", "0",
               "-o", str(tmp_path / "out.csv"))[0] == 0
    assert data.read_bytes() == before


def test_missing_and_corrupt_model_files(tmp_path, capsys):
    status, _, err = run_cli(capsys, "mixture", "predict", str(tmp_path / "none.npz"), FAITHFUL)
    assert status == 2 and "not an emapps mixture model" in err
    corrupt = write(tmp_path, "corrupt.npz", "not a zip")
    status, _, err = run_cli(capsys, "mixture", "predict", corrupt, FAITHFUL)
    assert status == 2 and "not an emapps mixture model" in err


def test_console_script_runs(tmp_path):
    output = subprocess.run([sys.executable, "-m", "emapps", "mixture", "fit", FAITHFUL, "-k",
                             "2", "--seed", "1", "-q"], capture_output=True, text=True)
    assert output.returncode == 0 and "chosen: K=2" in output.stdout
