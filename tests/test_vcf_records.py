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
