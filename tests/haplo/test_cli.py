"""`emapps haplo`: outputs, run record, stdin, determinism and user errors."""

import json
import subprocess
import sys

import pytest


from .conftest import KG_UNPHASED

from ..conftest import run_cli

FAST = ("--starts", "2", "--seed", "3", "-q")
LOCI = ",".join(["rs7273237", "rs4816142", "rs2207321", "rs2207322", "rs7261002",
                 "rs7269644", "rs6108305", "rs6108309"])



def test_writes_the_four_outputs_and_a_run_record(tmp_path, capsys):
    prefix = tmp_path / "out" / "kg"
    status, out, err = run_cli(capsys, "haplo", KG_UNPHASED, "-o", prefix, "--loci", LOCI, *FAST)
    assert status == 0, err
    assert out == ""
    freqs = (tmp_path / "out" / "kg.freqs.tsv").read_text().splitlines()
    assert freqs[0].split("\t") == ["hap", *LOCI.split(","), "freq", "se", "expected_count"]
    assert sum(float(line.split("\t")[9]) for line in freqs[1:]) == pytest.approx(1.0, abs=1e-6)
    pairs = (tmp_path / "out" / "kg.pairs.tsv").read_text().splitlines()
    assert pairs[0].startswith("subject\thap1\thap2")
    ld = (tmp_path / "out" / "kg.ld.tsv").read_text().splitlines()
    assert len(ld) == 1 + 8 * 7 // 2
    record = json.loads((tmp_path / "out" / "kg.json").read_text())
    for key in ("log_likelihood", "n_iter", "converged", "n_haplotypes", "trace",
                "settings", "seed", "no_ld_test", "timings"):
        assert key in record
    assert record["seed"] == 3 and record["n_subjects"] == 300


def test_same_seed_same_files_at_one_and_two_threads(tmp_path, capsys):
    for threads in (1, 2):
        status, _, err = run_cli(capsys, "haplo", KG_UNPHASED, "-o", tmp_path / f"t{threads}",
                             "--loci", LOCI, "--threads", threads, *FAST)
        assert status == 0, err
    for suffix in ("freqs.tsv", "pairs.tsv", "ld.tsv"):
        assert ((tmp_path / f"t1.{suffix}").read_bytes()
                == (tmp_path / f"t2.{suffix}").read_bytes())


def test_reads_a_vcf_from_stdin(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emapps", "haplo", "-", "-o",
                             str(tmp_path / "stdin"), "--loci", LOCI, *FAST],
                            input=KG_UNPHASED.read_bytes(), capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "stdin.freqs.tsv").is_file()


@pytest.mark.parametrize("argv, message", [
    (("--loci", "rs1,nope"), "unknown locus name(s) rs1, nope"),
    (("--samples", "HG00096,NOBODY"), "sample(s) not in the file: NOBODY"),
    (("--starts", "0"), "n_init"),
    (("--region", "20:1-2"), "needs an index"),
])
def test_user_errors_are_one_line_without_traceback(tmp_path, capsys, argv, message):
    status, out, err = run_cli(capsys, "haplo", KG_UNPHASED, "-o", tmp_path / "x", *argv, "-q")
    assert status == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_missing_input_is_named(tmp_path, capsys):
    status, _, err = run_cli(capsys, "haplo", tmp_path / "absent.tsv", "-o", tmp_path / "x", "-q")
    assert status == 2 and "absent.tsv: no such file" in err


def test_invalid_settings_fail_before_the_input_is_read(tmp_path, capsys):
    status, _, err = run_cli(capsys, "haplo", tmp_path / "absent.tsv", "-o", tmp_path / "x",
                             "--starts", "0")
    assert status == 2
    assert err.strip() == "emapps: error: n_init must be an integer >= 1, got 0"
