"""VCF record text for imputed genotypes, written straight into a byte buffer.

A record is its site's fixed fields (given as bytes) followed by one ``GT:DS:GP`` cell per
sample, tab-separated; every number is in hundredths and spelt from a table, so no cell is
formatted by Python.  At 300 samples x 23,670 sites that is 7 million cells.
"""

import numpy as np

from ._jit import kernel

#: the longest cell: "0|1:1.23:0.12,0.34,0.56" and its separator
CELL_BYTES = 24


@kernel(inline="always")
def _put(out, at, text, length):
    for i in range(length):
        out[at + i] = text[i]
    return at + length


@kernel()
def genotype_records(prefixes, prefix_ends, gt, dose, gp0, gp1, gp2, gt_text, number_text,
                     number_length):
    """uint8 text of every record: prefixes[prefix_ends[s - 1]:prefix_ends[s]] then, per
    sample n, gt_text[gt[n, s]] ':' number(dose[n, s]) ':' number(gp0) ',' number(gp1) ','
    number(gp2), tab-separated and ended by a newline; number(v) is
    number_text[v, :number_length[v]].  gt and the hundredths are (N, S) integer arrays."""
    n_samples, n_sites = gt.shape
    out = np.empty(prefix_ends[n_sites - 1] + n_sites * n_samples * CELL_BYTES, dtype=np.uint8)
    at = 0
    start = 0
    for s in range(n_sites):
        for i in range(start, prefix_ends[s]):
            out[at] = prefixes[i]
            at += 1
        start = prefix_ends[s]
        for n in range(n_samples):
            at = _put(out, at, gt_text[gt[n, s]], 3)
            out[at] = 58  # ':'
            at = _put(out, at + 1, number_text[dose[n, s]], number_length[dose[n, s]])
            out[at] = 58
            at = _put(out, at + 1, number_text[gp0[n, s]], number_length[gp0[n, s]])
            out[at] = 44  # ','
            at = _put(out, at + 1, number_text[gp1[n, s]], number_length[gp1[n, s]])
            out[at] = 44
            at = _put(out, at + 1, number_text[gp2[n, s]], number_length[gp2[n, s]])
            out[at] = 9 if n < n_samples - 1 else 10  # tab, or the record's newline
            at += 1
    return out[:at]
