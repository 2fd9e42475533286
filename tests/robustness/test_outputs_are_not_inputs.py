"""No output of a run may be one of its inputs, or another of its outputs, under any
name (a symlink or a hard link included): one line, exit 2, and every file unchanged."""

import hashlib
import os
import shutil

import pytest

from ..conftest import DATA, run_cli


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path):
    for source in ("tabular/old_faithful.csv", "recsys/synthetic_u.data",
                   "haplo/kg_chr20_100snp_unphased.vcf", "impute/target.vcf.gz",
                   "impute/ref.vcf.gz", "impute/truth.vcf.gz"):
        shutil.copy(DATA / source, tmp_path / os.path.basename(source))
    return tmp_path


CASES = {
    "mixture fit -o input": (["mixture", "fit", "{old_faithful.csv}", "-k", "2",
                              "-o", "{old_faithful.csv}"], "is the input"),
    "mixture fit -o X --json X": (["mixture", "fit", "{old_faithful.csv}", "-k", "2",
                                   "-o", "{m.npz}", "--json", "{m.npz}"], "are the same file"),
    "mixture impute -o input": (["mixture", "impute", "{old_faithful.csv}", "-k", "1",
                                 "-o", "{old_faithful.csv}"], "is the input"),
    "recsys fit -o input": (["recsys", "fit", "{synthetic_u.data}", "-o",
                             "{synthetic_u.data}"], "is the input"),
    "recsys fit --json model": (["recsys", "fit", "{synthetic_u.data}", "-o", "{r.npz}",
                                 "--json", "{r.npz}"], "are the same file"),
    "haplo -o onto the input": (["haplo", "{kg_chr20_100snp_unphased.vcf}", "-o", "{hard}"],
                                "is the input"),
    "impute --ref as output": (["impute", "{target.vcf.gz}", "--ref", "{ref.vcf.gz}", "-o",
                                "{ref.vcf.gz}"], "is the input"),
    "impute -o X --json X": (["impute", "{target.vcf.gz}", "--ref", "{ref.vcf.gz}", "-o",
                              "{out.vcf.gz}", "--json", "{out.vcf.gz}"], "are the same file"),
    "impute mask onto its input": (["impute", "mask", "{truth.vcf.gz}", "--design", "array",
                                    "-o", "{link.vcf.gz}"], "is the input"),
    "impute ligate onto a chunk": (["impute", "ligate", "{target.vcf.gz}", "{truth.vcf.gz}",
                                    "-o", "{target.vcf.gz}"], "is the input"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_an_output_that_is_an_input_is_refused_and_nothing_changes(case, files, capsys):
    # names under which an input hides: a hard link (haplo's freqs.tsv output) and a
    # symlink to the truth
    os.link(files / "kg_chr20_100snp_unphased.vcf", files / "hard.freqs.tsv")
    os.symlink(files / "truth.vcf.gz", files / "link.vcf.gz")
    argv, message = CASES[case]
    names = {"hard": files / "hard"}
    argv = [str(names.get(part[1:-1], files / part[1:-1])) if part.startswith("{") else part
            for part in argv]
    before = {path.name: digest(path) for path in files.iterdir() if path.is_file()}
    status, out, err = run_cli(capsys, *argv)
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err
    after = {path.name: digest(path) for path in files.iterdir() if path.is_file()}
    assert after == before


def test_haplo_writes_its_four_files_as_one_set(tmp_path, capsys, monkeypatch):
    """A failure while writing (here a full disk at the second file) leaves the earlier
    run's four files as they were and no temporary file behind; a whole run indexes its
    tables by sha256 in PREFIX.json."""
    import errno
    import hashlib
    import json
    from pathlib import Path

    argv = ["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "--loci",
            "rs7273237,rs4816142,rs2207321", "--starts", "1", "-o", tmp_path / "h", "-q"]
    assert run_cli(capsys, *argv, "--seed", "0")[0] == 0
    record = json.loads((tmp_path / "h.json").read_text())
    for entry in record["outputs"].values():
        assert hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    before = {path.name: digest(path) for path in tmp_path.iterdir()}
    calls = []
    real = Path.write_text

    def full_disk(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    status, _, err = run_cli(capsys, *argv, "--seed", "1")
    monkeypatch.undo()
    assert status == 1 and err.strip() == "emapps: error: No space left on device"
    assert {path.name: digest(path) for path in tmp_path.iterdir()} == before
