"""Every command's --json run record has the same keys (emapps.core.record), the command
line it was run with, and its own results after them."""

import json

import pytest

from emapps.core.record import RECORD_KEYS

from ..conftest import DATA, run_cli

IMPUTE = DATA / "impute"
COMMANDS = {
    "mixture fit": ["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "1..2",
                    "--seed", "1", "-q"],
    "mixture impute": ["mixture", "impute", DATA / "tabular" / "airquality.csv", "-k", "1",
                       "--seed", "1", "-o", "{out}/filled.csv"],
    "impute (panel)": ["impute", IMPUTE / "target.vcf.gz", "--ref", IMPUTE / "ref.vcf.gz",
                       "-r", "20:1000000-1040000", "-o", "{out}/i.vcf.gz", "-q"],
    "impute (cohort, clusters)": ["impute", IMPUTE / "target.vcf.gz", "-r",
                                  "20:1000000-1040000", "--cohort-model", "clusters", "-k",
                                  "2", "--starts", "2", "--seed", "0", "-o", "{out}/c.vcf.gz",
                                  "-q"],
    "impute (cohort, copying)": ["impute", IMPUTE / "target.vcf.gz", "-r", "20:1000000-1040000",
                                 "--seed", "0", "-o", "{out}/c.vcf.gz", "-q"],
    "impute score": ["impute", "score", IMPUTE / "target.vcf.gz", "--truth",
                     IMPUTE / "truth.vcf.gz", "--masked", IMPUTE / "target.vcf.gz"],
    "recsys fit": ["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-k", "2",
                   "--max-iter", "3", "--seed", "0", "-o", "{out}/r.npz", "-q"],
    "haplo": ["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "--loci",
              "rs7273237,rs4816142", "--starts", "1", "-o", "{out}/h", "--seed", "0", "-q"],
    "impute mask": ["impute", "mask", IMPUTE / "truth.vcf.gz", "--design", "random", "-r",
                    "20:1000000-1020000", "-o", "{out}/m.vcf.gz", "-q"],
    "mixture predict": ["mixture", "predict", "{model}", DATA / "tabular" / "old_faithful.csv",
                        "-o", "{out}/p.tsv"],
    "recsys recommend": ["recsys", "recommend", "{recsys}", "--users", "1,2", "-n", "3",
                         "-o", "{out}/top.tsv"],
    "recsys explain": ["recsys", "explain", "{recsys}", "--user", "1", "-n", "1"],
    "segment": ["segment", DATA / "images" / "coffee.png", "-o", "{out}/s", "-k", "2",
                "--spatial", "none", "--fit-pixels", "5000", "--seed", "0", "-q"],
}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A mixture model and a recommender for the commands that use one."""
    from emapps.cli import main

    folder = tmp_path_factory.mktemp("models")
    assert main(["mixture", "fit", str(DATA / "tabular" / "old_faithful.csv"), "-k", "2",
                 "--seed", "1", "-q", "-o", str(folder / "m.npz")]) == 0
    assert main(["recsys", "fit", str(DATA / "recsys" / "synthetic_u.data"), "-k", "2",
                 "--max-iter", "2", "--seed", "0", "-q", "-o", str(folder / "r.npz")]) == 0
    return {"{model}": str(folder / "m.npz"), "{recsys}": str(folder / "r.npz")}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_the_run_record_has_the_shared_keys(command, tmp_path, capsys, fitted):
    argv = [fitted.get(str(part), str(part)).replace("{out}", str(tmp_path))
            for part in COMMANDS[command]]
    record_path = tmp_path / "run.json"
    status, _, err = run_cli(capsys, *argv, "--json", record_path)
    assert status == 0, err
    record = json.loads(record_path.read_text())
    assert list(record)[:len(RECORD_KEYS)] == list(RECORD_KEYS)
    assert record["command"] == ["emapps", *argv, "--json", str(record_path)]
    assert isinstance(record["settings"], dict) and isinstance(record["warnings"], list)
    assert record["timings"]
    if command == "impute mask":   # a seed drawn from fresh entropy is recorded
        assert isinstance(record["seed"], int) and record["summary"].startswith("hid ")


def test_a_segment_record_lists_every_image_of_the_manifest(tmp_path, capsys):
    argv = [str(part).replace("{out}", str(tmp_path)) for part in COMMANDS["segment"]]
    run_cli(capsys, *argv, "--json", tmp_path / "run.json")
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["seed"] == 0 and record["segmented"] == 1 and record["converged"] is True
    assert set(record["images"]) == {"coffee.png"}
    assert record["images"]["coffee.png"]["k"] == 2
    status, _, err = run_cli(capsys, *argv, "--json", tmp_path / "s" / "run.json")
    assert status == 2 and "inside the output folder" in err
