"""Projection's inputs: the frequencies of an earlier run (PREFIX.K.P with its
PREFIX.snps.tsv) matched to new genotypes by SNP id and alleles."""

import numpy as np

from ..errors import UserInputError
from .genotypes import Genotypes

#: allele pairs whose strand cannot be told from the alleles
AMBIGUOUS = ({"A", "T"}, {"C", "G"})


def read_frequencies(freqs_path, snps_path) -> tuple:
    """((M, K) frequencies, {id, a1, a2 arrays}) of an earlier run."""
    try:
        F = np.loadtxt(freqs_path, ndmin=2)
    except (OSError, ValueError) as error:
        raise UserInputError(f"{freqs_path}: not a frequency (.P) file ({error})") from None
    try:
        with open(snps_path) as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    except OSError as error:
        raise UserInputError(f"cannot read {snps_path}: {error.strerror} (the run's "
                             f"PREFIX.snps.tsv; give it with --snps)") from None
    if len(rows) != F.shape[0] or any(len(row) != 5 for row in rows):
        raise UserInputError(f"{snps_path}: {len(rows)} SNPs, but {freqs_path} has "
                             f"{F.shape[0]} lines; they must come from one run")
    if not np.all(np.isfinite(F)) or F.min() < 0 or F.max() > 1:
        raise UserInputError(f"{freqs_path}: frequencies must lie in [0, 1]")
    columns = list(zip(*rows))
    return F, {"id": np.array(columns[0]), "a1": np.array(columns[3]),
               "a2": np.array(columns[4])}


def matched_frequencies(genotypes: Genotypes, F, snps) -> tuple:
    """(the new genotypes at the SNPs both hold, the frequencies of those SNPs with A1
    as the new genotypes count it, counts of SNPs used, flipped and left out)."""
    index = {name: j for j, name in enumerate(snps["id"])}
    keep, rows, flip = [], [], []
    counts = {"used": 0, "flipped": 0, "not_in_fit": 0, "allele_mismatch": 0,
              "strand_ambiguous": 0}
    for j, name in enumerate(genotypes.snp_ids):
        row = index.get(name)
        if row is None:
            counts["not_in_fit"] += 1
            continue
        new, old = (genotypes.a1[j], genotypes.a2[j]), (snps["a1"][row], snps["a2"][row])
        if new == old:
            swapped = False
        elif new == old[::-1]:
            if set(new) in AMBIGUOUS:
                counts["strand_ambiguous"] += 1
                continue
            swapped = True
        else:
            counts["allele_mismatch"] += 1
            continue
        keep.append(j)
        rows.append(row)
        flip.append(swapped)
    counts["used"] = len(keep)
    counts["flipped"] = int(np.sum(flip))
    counts["not_in_new"] = int(len(snps["id"]) - len(set(rows)))
    if not keep:
        raise UserInputError(f"{genotypes.source}: none of its SNPs is in the fit (matched "
                             f"by id and alleles)")
    chosen = F[np.array(rows)]
    chosen = np.where(np.array(flip)[:, None], 1.0 - chosen, chosen)
    return genotypes.take_snps(np.array(keep)), np.clip(chosen, 1e-5, 1 - 1e-5), counts
