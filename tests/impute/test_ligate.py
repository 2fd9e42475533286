"""Ligating overlapping chunks: phase swapped back per sample, records cut in the overlap,
and the chunked panel-mode run against one unchunked run on the bundled slice."""

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.impute.io import read_calls
from emapps.impute.vcf_output import write_vcf_text
from emapps.impute.ligate import ligate

from ..conftest import DATA, run_cli

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=20>\n"
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
          '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dose">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n")


def write_chunk(path, positions, first, second):
    """A phased VCF with GT:DS at ``positions`` from haplotypes (3, S) each."""
    lines = []
    for k, pos in enumerate(positions):
        cells = [f"{first[n, k]}|{second[n, k]}:{first[n, k] + second[n, k]}"
                 for n in range(3)]
        lines.append(f"20\t{pos}\t.\tA\tG\t.\tPASS\t.\tGT:DS\t" + "\t".join(cells) + "\n")
    write_vcf_text(str(path), HEADER, lines, mode="z")


@pytest.fixture
def haplotypes():
    rng = np.random.default_rng(0)
    return (rng.random((3, 40)) < 0.5).astype(int), (rng.random((3, 40)) < 0.5).astype(int)


def test_the_later_chunks_phase_is_swapped_back_and_the_overlap_cut_in_the_middle(
        tmp_path, haplotypes):
    first, second = haplotypes
    positions = 100 + 10 * np.arange(40)
    write_chunk(tmp_path / "one.vcf.gz", positions[:25], first[:, :25], second[:, :25])
    swap = np.array([False, True, True])[:, None]            # samples b and c swapped
    later = slice(15, 40)                                     # overlap: records 15-24
    write_chunk(tmp_path / "two.vcf.gz", positions[later],
                np.where(swap, second[:, later], first[:, later]),
                np.where(swap, first[:, later], second[:, later]))
    summary = ligate([str(tmp_path / "two.vcf.gz"), str(tmp_path / "one.vcf.gz")],
                     str(tmp_path / "all.vcf.gz"))
    junction, = summary["junctions"]
    assert junction["overlap"] == 10 and junction["swapped"] == 2
    assert junction["cut"] == positions[19]                   # the middle of the overlap
    joined = read_calls(str(tmp_path / "all.vcf.gz"))
    np.testing.assert_array_equal(joined.pos, positions)      # each record once, in order
    np.testing.assert_array_equal(joined.alleles[0], first)
    np.testing.assert_array_equal(joined.alleles[1], second)


def test_chunks_that_do_not_overlap_or_differ_in_samples_are_refused(tmp_path, haplotypes):
    first, second = haplotypes
    positions = 100 + 10 * np.arange(40)
    write_chunk(tmp_path / "one.vcf.gz", positions[:20], first[:, :20], second[:, :20])
    write_chunk(tmp_path / "two.vcf.gz", positions[20:], first[:, 20:], second[:, 20:])
    with pytest.raises(UserInputError, match="share no records"):
        ligate([str(tmp_path / "one.vcf.gz"), str(tmp_path / "two.vcf.gz")],
               str(tmp_path / "all.vcf.gz"))
    assert not (tmp_path / "all.vcf.gz").exists()


def test_chunked_panel_imputation_ligates_to_the_unchunked_run(tmp_path, capsys):
    target, panel = str(DATA / "impute" / "target.vcf.gz"), str(DATA / "impute" / "ref.vcf.gz")
    truth = read_calls(str(DATA / "impute" / "truth.vcf.gz"))
    contig, start, end = truth.chrom[0], truth.pos[0], truth.pos[-1]
    middle = (start + end) // 2
    regions = [f"{contig}:{start}-{middle + 30000}", f"{contig}:{middle - 30000}-{end}"]
    chunks = []
    for k, region in enumerate(regions):
        chunks.append(str(tmp_path / f"chunk{k}.vcf.gz"))
        assert run_cli(capsys, "impute", target, "--ref", panel, "-r", region, "-o",
                       chunks[-1], "--seed", "1", "-q")[0] == 0
    status, _, message = run_cli(capsys, "impute", "ligate", *chunks, "-o",
                                 tmp_path / "all.vcf.gz")
    assert status == 0 and "shared records" in message
    assert run_cli(capsys, "impute", target, "--ref", panel, "-o", tmp_path / "one.vcf.gz",
                   "--seed", "1", "-q")[0] == 0
    joined, single = (read_calls(str(tmp_path / name)) for name in ("all.vcf.gz", "one.vcf.gz"))
    np.testing.assert_array_equal(joined.keys(), single.keys())
    assert joined.samples == single.samples == truth.samples
    agree = (joined.genotypes() == single.genotypes()).mean()
    assert agree > 0.99                                        # genotypes as unchunked
    cut = int(message.split("cut after ")[1].split(",")[0])
    heterozygous = truth.genotypes() == 1

    def orientation(calls, after_cut):
        """Per sample: does the first haplotype follow the truth's first one on the 8
        heterozygotes just before (or after) the cut?"""
        columns = {key: k for k, key in enumerate(calls.keys())}
        column = np.array([columns.get(key, -1) for key in truth.keys()])
        side = (truth.pos > cut) if after_cut else (truth.pos <= cut)
        votes = []
        for n, het in enumerate(heterozygous):
            near = np.flatnonzero(het & side & (column >= 0))
            near = near[:8] if after_cut else near[-8:]
            votes.append(np.mean(calls.alleles[0][n, column[near]] == truth.alleles[0][n, near]))
        return np.array(votes) > 0.5

    first, second = (read_calls(chunk) for chunk in chunks)
    unaligned = (orientation(first, False) != orientation(second, True)).sum()
    ligated = (orientation(joined, False) != orientation(joined, True)).sum()
    assert unaligned >= 15 and ligated <= 10   # of 60 samples: the phase was joined
