"""Chromosome X: males haploid outside the PARs in the panel and the target, imputed
stretch by stretch, written back with each sample's ploidy, scored per sex."""

import json

import numpy as np
import pysam
import pytest

from emapps.impute.io import read_calls
from emapps.impute.reference_panel import read_panel

from ..conftest import DATA, run_cli
from .chrx_data import PAR1_END, PAR2_START, males, write_sex_file, write_x

X_SPECIFIC = f"X:{PAR1_END + 1}-{PAR2_START - 1}"


@pytest.fixture(scope="module")
def x_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chrx")
    write_x("ref.vcf.gz", folder / "ref.vcf.gz")
    write_x("truth.vcf.gz", folder / "truth.vcf.gz")
    write_x("truth.vcf.gz", folder / "target.vcf.gz", phased=False, sites_of="target.vcf.gz")
    write_x("truth.vcf.gz", folder / "target_diploid_males.vcf.gz", phased=False,
            sites_of="target.vcf.gz", male_diploid=True)
    samples = read_calls(folder / "target.vcf.gz").samples
    write_sex_file(folder / "sex.tsv", samples)
    for name, chosen in (("males", males(samples)), ("females", ~males(samples))):
        (folder / f"{name}.txt").write_text(
            "".join(f"{s}\n" for s, keep in zip(samples, chosen) if keep))
    return folder


@pytest.fixture(scope="module")
def imputed(x_files, tmp_path_factory):
    from emapps.cli import main
    out = tmp_path_factory.mktemp("chrx_out")
    assert main(["impute", str(x_files / "target.vcf.gz"), "--ref", str(x_files / "ref.vcf.gz"),
                 "-o", str(out / "x.vcf.gz"), "--json", str(out / "x.json"), "-q"]) == 0
    return out


def test_a_mixed_ploidy_panel_is_read_with_its_ploidy(x_files):
    panel = read_panel(x_files / "ref.vcf.gz")
    calls = read_calls(x_files / "ref.vcf.gz")
    assert panel.ploidy is not None and panel.ploidy.haploid.shape[0] == 3
    assert panel.ploidy.haploid[1].sum() == males(panel.samples).sum()
    assert not panel.ploidy.haploid[[0, 2]].any()
    counted = np.where(calls.alleles >= 0, calls.alleles, 0).sum(axis=(0, 1))
    copies = (calls.alleles >= 0).sum(axis=(0, 1))
    np.testing.assert_allclose(panel.alt_frequency(), counted / copies)


def test_each_sample_keeps_its_ploidy_in_the_output(x_files, imputed):
    male = dict(zip(read_calls(x_files / "target.vcf.gz").samples,
                    males(read_calls(x_files / "target.vcf.gz").samples)))
    seen = set()
    with pysam.VariantFile(str(imputed / "x.vcf.gz")) as vcf:
        for record in vcf:
            inside = PAR1_END < record.pos < PAR2_START
            for sample, cell in record.samples.items():
                haploid = male[sample] and inside
                assert len(cell["GT"]) == (1 if haploid else 2)
                assert len(cell["GP"]) == (2 if haploid else 3)
                assert 0 <= cell["DS"][0] <= (1 if haploid else 2)
                assert sum(cell["GP"]) == pytest.approx(1, abs=0.02)
                seen.add((haploid, inside))
    assert seen == {(True, True), (False, True), (False, False)}
    record = json.loads((imputed / "x.json").read_text())
    stretches = record["ploidy_stretches"]
    assert [s["x_specific"] for s in stretches] == [False, True, False]
    assert [s["haploid_targets"] for s in stretches] == [0, 30, 0]
    assert [s["panel_haplotypes"] for s in stretches] == [480, 360, 480]
    assert record["log_likelihood"] == pytest.approx(
        sum(s["log_likelihood"] for s in stretches))


def scores(path, truth, masked, samples, region, capsys, tmp_path):
    status, _, err = run_cli(capsys, "impute", "score", path, "--truth", truth, "--masked",
                             masked, "-S", samples, "-r", region, "--json",
                             tmp_path / "score.json")
    assert status == 0, err
    return json.loads((tmp_path / "score.json").read_text())["scores"]["all"]


def test_each_sex_imputes_as_well_as_diploid_calls_do(x_files, imputed, capsys, tmp_path):
    """Outside the PARs, against the same samples imputed as diploid (the bundled chr20
    slice, the same region alone): females lose nothing to a panel whose males carry one
    haplotype, and males' haploid calls are at least as concordant."""
    region = f"{PAR1_END + 1}-{PAR2_START - 1}"
    diploid = tmp_path / "diploid.vcf.gz"
    status, _, err = run_cli(capsys, "impute", DATA / "impute" / "target.vcf.gz", "--ref",
                             DATA / "impute" / "ref.vcf.gz", "-r", f"20:{region}", "-o",
                             diploid, "-q")
    assert status == 0, err
    for sex in ("males", "females"):
        ours = scores(imputed / "x.vcf.gz", x_files / "truth.vcf.gz",
                      x_files / "target.vcf.gz", x_files / f"{sex}.txt", f"X:{region}",
                      capsys, tmp_path)
        theirs = scores(diploid, DATA / "impute" / "truth.vcf.gz",
                        DATA / "impute" / "target.vcf.gz", x_files / f"{sex}.txt",
                        f"20:{region}", capsys, tmp_path)
        assert ours["coverage"] == 1.0
        assert ours["concordance"] >= theirs["concordance"] - 0.002, sex
        assert ours["concordance"] > 0.975


def test_sex_file_turns_homozygous_male_calls_haploid(x_files, imputed, tmp_path, capsys):
    """Males written as homozygous diploid calls (PLINK's habit), with --sex: the same
    result as their haploid calls give."""
    out = tmp_path / "sexed.vcf.gz"
    status, _, err = run_cli(capsys, "impute", x_files / "target_diploid_males.vcf.gz",
                             "--ref", x_files / "ref.vcf.gz", "--sex", x_files / "sex.tsv",
                             "-o", out, "-q")
    assert status == 0, err

    def body(path):
        with pysam.VariantFile(str(path)) as vcf:
            return [str(record) for record in vcf]
    assert body(out) == body(imputed / "x.vcf.gz")


@pytest.mark.parametrize("change, message", [
    ("female_as_male", "a heterozygous call"),
    ("male_as_female", "a haploid call")])
def test_ploidy_that_contradicts_sex_is_refused(x_files, tmp_path, capsys, change, message):
    samples = read_calls(x_files / "target.vcf.gz").samples
    sexes = np.where(males(samples), "1", "2")
    sexes[0 if change == "female_as_male" else 1] = "1" if change == "female_as_male" else "2"
    (tmp_path / "sex.tsv").write_text("".join(f"{s} {x}\n" for s, x in zip(samples, sexes)))
    out = tmp_path / "out.vcf.gz"
    status, _, err = run_cli(capsys, "impute", x_files / "target.vcf.gz", "--ref",
                             x_files / "ref.vcf.gz", "--sex", tmp_path / "sex.tsv", "-o", out)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_mixed_ploidy_in_one_stretch_without_sex_is_refused(x_files, tmp_path, capsys):
    """A sample whose calls outside the PARs are partly haploid: its ploidy is unknown."""
    source = x_files / "target.vcf.gz"
    bad = tmp_path / "mixed.vcf"
    with pysam.VariantFile(str(source)) as vcf, open(bad, "w") as out:
        out.write(str(vcf.header))
        for k, record in enumerate(vcf):
            fields = str(record).split("\t")
            if PAR1_END < record.pos < PAR2_START and k % 2:
                fields[10] = fields[10][0] + "/" + fields[10][0]
            out.write("\t".join(fields))
    status, _, err = run_cli(capsys, "impute", bad, "--ref", x_files / "ref.vcf.gz", "-o",
                             tmp_path / "out.vcf")
    assert status == 2 and "haploid and diploid calls" in err and "--sex" in err


def test_compact_panel_keeps_ploidy(x_files, imputed, tmp_path, capsys):
    compact = tmp_path / "ref.emref"
    status, _, err = run_cli(capsys, "impute", "convert", x_files / "ref.vcf.gz", "-o",
                             compact)
    assert status == 0, err
    out = tmp_path / "from_compact.vcf.gz"
    status, _, err = run_cli(capsys, "impute", x_files / "target.vcf.gz", "--ref", compact,
                             "-o", out, "-q")
    assert status == 0, err
    with pysam.VariantFile(str(out)) as ours, \
            pysam.VariantFile(str(imputed / "x.vcf.gz")) as theirs:
        assert [str(r) for r in ours] == [str(r) for r in theirs]
    region = read_panel(compact, region=X_SPECIFIC)
    assert region.ploidy.haploid.shape[0] == 1


def test_masking_keeps_haploid_calls(x_files, tmp_path, capsys):
    out = tmp_path / "masked.vcf"
    status, _, err = run_cli(capsys, "impute", "mask", x_files / "truth.vcf.gz", "-o", out,
                             "--design", "random", "--rate", "0.2", "--seed", "3")
    assert status == 0, err
    truth, masked = read_calls(x_files / "truth.vcf.gz"), read_calls(out)
    np.testing.assert_array_equal(masked.haploid | (masked.genotypes() < 0), truth.haploid
                                  | (masked.genotypes() < 0))
    kept = masked.genotypes() >= 0
    np.testing.assert_array_equal(masked.genotypes()[kept], truth.genotypes()[kept])


def test_cohort_mode_refuses_haploid_calls(x_files, tmp_path, capsys):
    status, _, err = run_cli(capsys, "impute", x_files / "target.vcf.gz", "-o",
                             tmp_path / "out.vcf")
    assert status == 2 and "haploid" in err and "--ref" in err
