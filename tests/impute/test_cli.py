"""`emapps impute` from the shell: run, mask and score round trips, stdout, run records,
and user errors as one line."""

import json

import pytest

from emapps.core.record import RECORD_KEYS

from ..conftest import DATA, run_cli

SLICE = DATA / "impute"



def test_mask_impute_and_score_round_trip(tmp_path, capsys):
    masked = tmp_path / "masked.vcf.gz"
    status, _, err = run_cli(capsys, "impute", "mask", SLICE / "truth.vcf.gz", "-o", masked,
                         "--design", "random", "--rate", "0.05", "--seed", "4")
    assert status == 0 and "hid" in err
    imputed = tmp_path / "imputed.bcf"
    status, _, err = run_cli(capsys, "impute", masked, "--ref", SLICE / "ref.vcf.gz", "-o",
                         imputed, "--seed", "0", "--json", tmp_path / "run.json",
                         "--max-iter", "3", "--phase-states", "200", "--impute-states", "300")
    assert status == 0, err
    assert (tmp_path / "imputed.bcf.csi").exists()
    record = json.loads((tmp_path / "run.json").read_text())
    assert set(RECORD_KEYS) <= set(record) and record["command"][:2] == ["emapps", "impute"]
    assert record["seed"] is None   # panel mode draws no random numbers
    assert record["typed_sites"] > 1000 and record["trace"]
    assert (record["phase_states"], record["impute_states"]) == (200, 300)  # of 480
    timings = record["timings"]
    assert {"read", "fit_and_impute", "write", "total"} <= set(timings)
    assert 0 < timings["fit_and_impute"] < timings["total"]
    status, out, err = run_cli(capsys, "impute", "score", imputed, "--truth",
                           SLICE / "truth.vcf.gz", "--masked", masked, "--json", "-")
    assert status == 0, err
    record = json.loads(out)
    assert set(RECORD_KEYS) <= set(record) and record["seed"] is None
    table = record["scores"]
    assert table["all"]["coverage"] == 1.0
    assert table["all"]["concordance"] > 0.97 and table[">=5%"]["r2_mean"] > 0.8


def test_array_mask_keeps_one_site_in_ten(tmp_path, capsys):
    out = tmp_path / "array.vcf"
    status, _, err = run_cli(capsys, "impute", "mask", SLICE / "truth.vcf.gz", "-o", out,
                         "--design", "array", "--every", "10")
    assert status == 0 and "kept 182 of 1812 sites" in err
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 182 and "|" not in lines[0]


def test_imputed_records_go_to_stdout(capfd):
    status, out, err = run_cli(capfd, "impute", SLICE / "target.vcf.gz", "--ref",
                           SLICE / "ref.vcf.gz", "-o", "-", "--seed", "0", "--max-iter", "1",
                           "-r", "20:1000000-1020000", "-q")
    assert status == 0, err
    body = [line for line in out.splitlines() if not line.startswith("#")]
    assert body and all(line.split("\t")[8] == "GT:DS:GP" for line in body)
    assert "IMP" in out


@pytest.mark.parametrize("argv, message", [
    (["impute", "missing.vcf.gz", "--ref", SLICE / "ref.vcf.gz", "-o", "x.vcf"],
     "missing.vcf.gz: no such file"),
    (["impute", SLICE / "target.vcf.gz", "--ref", SLICE / "target.vcf.gz", "-o", "x.vcf"],
     "is unphased; a reference panel must be phased"),
    (["impute", SLICE / "PROVENANCE.md", "--ref", SLICE / "ref.vcf.gz", "-o", "x.vcf"],
     "not a readable VCF/BCF file"),
    (["impute", SLICE / "target.vcf.gz", "--ref", SLICE / "ref.vcf.gz", "-o", "x.vcf",
      "--samples", "NOBODY"], "sample(s) not in the file: NOBODY"),
    (["impute", SLICE / "target.vcf.gz", "--ref", SLICE / "ref.vcf.gz", "-o", "x.vcf",
      "--phase-states", "1"], "phase_states must be an integer >= 2, got 1"),
])
def test_user_errors_are_one_line_and_write_nothing(argv, message, tmp_path, capsys,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.vcf").exists()


def test_cohort_mode_fills_missing_calls_without_a_panel(tmp_path, capsys):
    masked = tmp_path / "masked.vcf.gz"  # bgzipped and indexed: score reads a region of it
    run_cli(capsys, "impute", "mask", SLICE / "truth.vcf.gz", "-o", masked, "--design", "random",
        "--rate", "0.05", "--seed", "2", "-r", "20:1000000-1060000")
    out = tmp_path / "filled.vcf.gz"
    status, _, err = run_cli(capsys, "impute", masked, "-o", out, "-k", "4", "--starts", "2",
                             "--max-iter", "8", "--seed", "0")   # settings of 'clusters'
    assert status == 2 and not out.exists()
    assert err.strip().splitlines() == [
        "emapps: error: --max-iter, -k/--clusters, --n-init: not used in copying cohort mode"]
    status, _, err = run_cli(capsys, "impute", masked, "-o", out, "--cohort-model",
                             "clusters", "-k", "4", "--starts", "2", "--max-iter", "8",
                             "--seed", "0")
    assert status == 0 and "missing calls filled" in err
    status, stdout, err = run_cli(capsys, "impute", "score", out, "--truth",
                              SLICE / "truth.vcf.gz", "--masked", masked, "-r",
                              "20:1000000-1060000", "--json", "-")
    table = json.loads(stdout)["scores"]
    assert status == 0 and table["all"]["coverage"] == 1.0
    assert table["all"]["concordance"] > 0.9
