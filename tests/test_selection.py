"""Samples and regions as bcftools spells them: -s/-S with ^ to exclude, -r/-R merged,
and the genetics commands that take them, their output types and indexes."""

import gzip

import pytest

from emapps.errors import UserInputError
from emapps.io.selection import SampleSelection, parse_regions, parse_samples

from .conftest import DATA, run_cli

TRUTH = DATA / "impute" / "truth.vcf.gz"


def test_regions_are_merged_per_chromosome_in_the_order_given():
    assert parse_regions("20:100-200,20:150-300,21,20:500") == ["20:100-300", "20:500-500",
                                                                "21"]
    assert parse_regions("20:7-") == ["20:7"]


def test_a_regions_file_takes_chrom_beg_end_or_chrom_pos(tmp_path):
    path = tmp_path / "regions.tsv"
    path.write_text("# chrom beg end\n20\t10\t20\n20 15 40\n21\t5\n")
    assert parse_regions(regions_file=str(path)) == ["20:10-40", "21:5-5"]
    path.write_text("20\tx\t5\n")
    with pytest.raises(UserInputError, match="line 1: expected CHROM BEG"):
        parse_regions(regions_file=str(path))


@pytest.mark.parametrize("text, message", [("20:0-5", "needs 1 <= BEG"), ("20:9-5", "needs 1"),
                                           ("20:x", "is not a region"), (",", "no region")])
def test_bad_regions_are_one_line(text, message):
    with pytest.raises(UserInputError, match=message):
        parse_regions(text)


def test_samples_keep_the_order_given_or_exclude_in_file_order(tmp_path):
    available = ["a", "b", "c", "d"]
    assert parse_samples("c,a").columns(available, "x") == [2, 0]
    assert parse_samples("^c,a").columns(available, "x") == [1, 3]
    (tmp_path / "names").write_text("d\nb\n")
    assert parse_samples(samples_file="^" + str(tmp_path / "names")).columns(
        available, "x") == [0, 2]
    assert parse_samples(samples_file=str(tmp_path / "names")) == SampleSelection(("d", "b"))
    with pytest.raises(UserInputError, match="named more than once: a"):
        parse_samples("a,b,a")
    with pytest.raises(UserInputError, match="not in the file: e"):
        parse_samples("a,e").columns(available, "x")
    with pytest.raises(UserInputError, match="not both"):
        parse_samples("a", "file")


def records(path):
    lines = [line.decode() for line in gzip.open(path) if not line.startswith(b"##")]
    return lines[0].rstrip("\n").split("\t")[9:], [line.split("\t")[:2] for line in lines[1:]]


def test_mask_reads_the_regions_and_samples_asked_for(tmp_path, capsys):
    out = tmp_path / "m.vcf.gz"
    status, _, err = run_cli(capsys, "impute", "mask", TRUTH, "--design", "array", "--every",
                             "1", "-r", "20:1000000-1010000,20:1020000-1030000", "-s",
                             "^HG00100,HG00102", "-W", "csi", "-o", out, "-q")
    assert status == 0, err
    samples, sites = records(out)
    everyone, _ = records(TRUTH)
    assert samples == [name for name in everyone if name not in ("HG00100", "HG00102")]
    positions = [int(pos) for _, pos in sites]
    assert positions and all(1_000_000 <= pos <= 1_010_000 or 1_020_000 <= pos <= 1_030_000
                             for pos in positions)
    assert (tmp_path / "m.vcf.gz.csi").exists() and not (tmp_path / "m.vcf.gz.tbi").exists()
    status, _, err = run_cli(capsys, "impute", "mask", TRUTH, "--design", "array", "-r",
                             "20:1000000-1010000", "--no-index", "-o", out, "-q")
    assert status == 0 and not (tmp_path / "m.vcf.gz.csi").exists()   # no stale index left
    status, _, err = run_cli(capsys, "impute", "mask", TRUTH, "--design", "array", "-W", "tbi",
                             "-o", tmp_path / "m.bcf")
    assert status == 2 and "a BCF file is indexed as .csi" in err


def test_score_reads_only_the_imputed_samples_from_a_larger_truth(tmp_path, capsys):
    masked = tmp_path / "masked.vcf.gz"
    run_cli(capsys, "impute", "mask", TRUTH, "--design", "random", "--rate", "0.1", "--seed",
            "1", "-s", "HG00100,HG00102,HG00103", "-r", "20:1000000-1030000", "-o", masked, "-q")
    filled = tmp_path / "filled.vcf.gz"
    assert run_cli(capsys, "impute", masked, "--cohort-model", "clusters", "-k", "2",
                   "--starts", "1", "--seed", "0", "-o", filled, "-q")[0] == 0
    status, _, err = run_cli(capsys, "impute", "score", filled, "--truth", TRUTH, "--masked",
                             masked, "-r", "20:1000000-1030000")
    assert status == 2   # the truth has samples the imputed file lacks
    status, out, err = run_cli(capsys, "impute", "score", filled, "--truth", TRUTH, "--masked",
                               masked, "-r", "20:1000000-1030000", "-s",
                               "HG00100,HG00102,HG00103")
    assert status == 0, err
    assert out.startswith("maf_bin")


def test_haplo_leaves_out_the_samples_of_a_file(tmp_path, capsys):
    names = tmp_path / "out.txt"
    names.write_text("HG00096\nHG00097\n")
    status, _, err = run_cli(capsys, "haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf",
                             "--loci", "rs7273237,rs4816142", "-S", f"^{names}", "--starts",
                             "1", "-o", tmp_path / "h", "--seed", "0", "-q")
    assert status == 0, err
    pairs = (tmp_path / "h.pairs.tsv").read_text()
    assert "HG00096" not in pairs and "HG00099" in pairs
