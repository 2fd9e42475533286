"""``emapps admix`` as users run it: ADMIXTURE's files, CV lines, projection, bad input."""

import json

import numpy as np

from ..conftest import run_cli
from .conftest import write_plink, write_vcf


def test_files_as_admixture_writes_them(simulated, tmp_path, capsys):
    folder, counts, _, _ = simulated
    prefix = tmp_path / "run"
    status, out, err = run_cli(capsys, "admix", folder / "sim", "-k", "2..3", "--cv", "3",
                               "-o", prefix, "--seed", "4", "--bootstrap", "3")
    assert status == 0, err
    assert "CV error (K=2): " in out and "CV error (K=3): " in out
    for k in (2, 3):
        Q = np.loadtxt(f"{prefix}.{k}.Q")
        P = np.loadtxt(f"{prefix}.{k}.P")
        se = np.loadtxt(f"{prefix}.{k}.Q_se")
        assert Q.shape == (80, k) and P.shape == (600, k) and se.shape == (80, k)
        np.testing.assert_allclose(Q.sum(axis=1), 1, atol=1e-5)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["chosen_k"] == 2 and record["chosen_by"] == "cv_error"
    assert record["seed"] == 4 and len(record["table"]) == 2
    assert set(record["digests"]) == {str(p) for p in tmp_path.glob("run.*")} - {
        str(tmp_path / "run.json")}


def test_same_seed_same_bytes_at_any_thread_count(simulated, tmp_path, capsys):
    folder = simulated[0]
    outputs = []
    for threads in (1, 2):
        prefix = tmp_path / f"t{threads}"
        status, _, err = run_cli(capsys, "admix", folder / "sim", "-k", "2", "-o", prefix,
                                 "--seed", "3", "--threads", threads, "-q")
        assert status == 0, err
        outputs.append((open(f"{prefix}.2.Q").read(), open(f"{prefix}.2.P").read()))
    assert outputs[0] == outputs[1]


def test_vcf_and_plink_inputs_give_one_answer(simulated, tmp_path, capsys):
    folder, counts, _, _ = simulated
    write_vcf(tmp_path / "sim.vcf.gz", counts)
    answers = []
    for source, prefix in ((folder / "sim.bed", tmp_path / "bed"),
                           (tmp_path / "sim.vcf.gz", tmp_path / "vcf")):
        status, _, err = run_cli(capsys, "admix", source, "-k", "2", "-o", prefix,
                                 "--seed", "1", "-q")
        assert status == 0, err
        answers.append(open(f"{prefix}.2.Q").read())
    assert answers[0] == answers[1]


def test_projection_flips_swapped_alleles(simulated, tmp_path, capsys):
    folder, counts, _, _ = simulated
    prefix = tmp_path / "fit"
    assert run_cli(capsys, "admix", folder / "sim", "-k", "2", "-o", prefix, "--seed", "2",
                   "-q")[0] == 0
    swapped = tmp_path / "swapped"
    write_plink(swapped, np.where(counts < 0, -1, 2 - counts), a1="G", a2="A")
    for source, out in ((folder / "sim", tmp_path / "same"), (swapped, tmp_path / "flip")):
        status, _, err = run_cli(capsys, "admix", "project", source, "--freqs",
                                 f"{prefix}.2.P", "-o", out, "-q")
        assert status == 0, err
    same, flipped = np.loadtxt(tmp_path / "same.2.Q"), np.loadtxt(tmp_path / "flip.2.Q")
    np.testing.assert_allclose(same, flipped, atol=1e-6)
    assert np.abs(same - np.loadtxt(f"{prefix}.2.Q")).max() < 0.03
    record = json.loads((tmp_path / "flip.json").read_text())
    assert record["snps_matched"]["flipped"] == 600


def test_bad_input_is_one_line_and_writes_nothing(simulated, tmp_path, capsys):
    folder = simulated[0]
    broken = tmp_path / "broken"
    for suffix in (".bim", ".fam"):
        (tmp_path / f"broken{suffix}").write_text((folder / f"sim{suffix}").read_text())
    (tmp_path / "broken.bed").write_bytes((folder / "sim.bed").read_bytes()[:-5])
    cases = [
        (["admix", broken, "-k", "2", "-o", tmp_path / "x"], "bytes"),
        (["admix", folder / "sim", "-k", "1", "-o", tmp_path / "x"], "K"),
        (["admix", folder / "sim", "-k", "2", "-o", tmp_path / "x", "--json",
          folder / "sim.fam"], "input"),
    ]
    (tmp_path / "pops.txt").write_text("".join(f"P{i % 3}\n" for i in range(80)))
    cases.append((["admix", folder / "sim", "-k", "2", "--supervised", tmp_path / "pops.txt",
                   "-o", tmp_path / "x"], "3 populations"))
    for argv, message in cases:
        status, _, err = run_cli(capsys, *argv)
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.glob("x*"))
