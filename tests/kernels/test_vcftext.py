import numpy as np

from emapps.impute.io import GT_TEXT, _byte_table, _format_table
from emapps.kernels.vcftext import genotype_records


def python_records(prefixes, gt, dose, gp, hundredths):
    """The records spelt one cell at a time with f-strings."""
    lines = []
    for s, prefix in enumerate(prefixes):
        cells = [f"{GT_TEXT[gt[n, s]]}:{hundredths[dose[n, s]]}:{hundredths[gp[0][n, s]]},"
                 f"{hundredths[gp[1][n, s]]},{hundredths[gp[2][n, s]]}"
                 for n in range(gt.shape[0])]
        lines.append(prefix + "\t".join(cells) + "\n")
    return "".join(lines)


def test_genotype_records_spell_every_cell_like_python_formatting():
    rng = np.random.default_rng(3)
    n_samples, n_sites = 7, 40
    hundredths = _format_table(np.arange(201) / 100.0, 2)
    gt = rng.integers(0, len(GT_TEXT), size=(n_samples, n_sites))
    dose = rng.integers(0, 201, size=(n_samples, n_sites))
    dose[0, :] = np.arange(n_sites) * 5       # 0, 0.05, ..., 1.95: every length of number
    gp = [rng.integers(0, 101, size=(n_samples, n_sites)) for _ in range(3)]
    prefixes = [f"20\t{1000 + s}\trs{s}\tA\tG\t.\tPASS\tAF=0.{s}\tGT:DS:GP\t"
                for s in range(n_sites)]
    text = genotype_records(
        np.frombuffer("".join(prefixes).encode(), dtype=np.uint8),
        np.cumsum([len(prefix) for prefix in prefixes]), gt, dose, *gp,
        _byte_table(GT_TEXT), _byte_table(hundredths),
        np.array([len(number) for number in hundredths]))
    assert text.tobytes().decode() == python_records(prefixes, gt, dose, gp, hundredths)
