"""Imputed VCF records spelt from text tables agree with Python formatting, in one block
or many."""

import numpy as np
import pytest

from emapps.impute.vcf_output import GT_TEXT, _format_table
from emapps.io import vcf
from emapps.io.vcf import genotype_records


def python_records(prefixes, gt, dose, gp, hundredths):
    """The records spelt one cell at a time with f-strings."""
    lines = []
    for s, prefix in enumerate(prefixes):
        cells = [f"{GT_TEXT[gt[n, s]]}:{hundredths[dose[n, s]]}:{hundredths[gp[0][n, s]]},"
                 f"{hundredths[gp[1][n, s]]},{hundredths[gp[2][n, s]]}"
                 for n in range(gt.shape[0])]
        lines.append(prefix + "\t".join(cells) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("block_bytes", [1 << 24, 1])   # one block, or one site per block
def test_genotype_records_spell_every_cell_like_python_formatting(block_bytes, monkeypatch):
    monkeypatch.setattr(vcf, "RECORD_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(3)
    n_samples, n_sites = 7, 40
    hundredths = _format_table(np.arange(201) / 100.0, 2)
    gt = rng.integers(0, len(GT_TEXT), size=(n_samples, n_sites))
    dose = rng.integers(0, 201, size=(n_samples, n_sites))
    dose[0, :] = np.arange(n_sites) * 5       # 0, 0.05, ..., 1.95: every length of number
    gp = [rng.integers(0, 101, size=(n_samples, n_sites)) for _ in range(3)]
    prefixes = [f"20\t{1000 + s}\trs{s}\tA\tG\t.\tPASS\tAF=0.{s}\tGT:DS:GP\t"
                for s in range(n_sites)]
    text = b"".join(genotype_records([prefix.encode() for prefix in prefixes], gt, dose,
                                     *gp, GT_TEXT, list(hundredths)))
    assert text.decode() == python_records(prefixes, gt, dose, gp, hundredths)


@pytest.mark.parametrize("records", [
    ["0|1\t1\t./.\t.", "1\t0\t1/1\t0|0"],              # haploid and diploid, vectorised
    ["0|1\t1|0\t0/0\t1|1", "0|1\t1\t./.\t."],          # one row of each path
    ["0|1:5\t1\t./.\t.", "1\t0\t1/1\t0|0"],            # one record call by call
])
def test_haploid_and_diploid_calls_decode_alike_on_every_path(records):
    """A haploid call's second allele is ABSENT and it counts as phased; '.' alone is
    missing; every decoding path gives what the call-by-call path gives."""
    sites, samples = [("X", k) for k in range(len(records))], list("abcd")
    alleles, phased = vcf.genotype_calls(records, sites, samples, "test")
    for row, text in enumerate(records):
        one, phase = vcf._calls_one_by_one(text.split("\t"), samples, "X:0", "test")
        np.testing.assert_array_equal(alleles[:, row], one)
        np.testing.assert_array_equal(phased[row], phase)
    first, second = vcf.genotype_calls(["0|1\t1\t./.\t."], sites, samples, "t")[0][:, 0]
    np.testing.assert_array_equal(first, [0, 1, -1, -1])
    np.testing.assert_array_equal(second, [1, vcf.ABSENT, -1, -1])


def test_a_triploid_call_is_refused():
    with pytest.raises(vcf.UserInputError, match="3-ploid"):
        vcf.genotype_calls(["0/1/1\t0"], [("X", 1)], ["a", "b"], "t")
