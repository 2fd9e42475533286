"""Genotype data for the haplotype tests: bundled 1000 Genomes VCFs, haplo.stats tables
from ../shared (skipped when absent), stored haplo.em results, and generated data."""

import csv
from pathlib import Path

import numpy as np
import pytest

from emapps.haplo import Genotypes, read_genotypes

from ..conftest import DATA, SHARED

KG_UNPHASED = DATA / "haplo" / "kg_chr20_100snp_unphased.vcf"
KG_PHASED = DATA / "haplo" / "kg_chr20_100snp_phased.vcf"
HAPLO_SHARED = SHARED / "data" / "genetics" / "haplo"
REFERENCE = Path(__file__).parent / "data"


def shared_table(name):
    path = HAPLO_SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (haplo.stats data are read from ../shared, never copied)")
    return str(path)


def haplo_em_reference(case):
    """(log-likelihood haplo.em reported, {haplotype tuple: frequency})."""
    with open(REFERENCE / "haplo_em_loglik.tsv") as handle:
        lnlike = {row["case"]: float(row["lnlike"])
                  for row in csv.DictReader(handle, delimiter="\t")}[case]
    with open(REFERENCE / f"{case}_haplo_em.csv") as handle:
        rows = list(csv.reader(handle))
    return lnlike, {tuple(row[:-1]): float(row[-1]) for row in rows[1:]}


def frequency_distance(model, reference: dict) -> float:
    """Sum of |f - f_ref| over the union of both haplotype sets."""
    ours = {tuple(label.split("\x00")): f for label, f in
            zip(model.haplotype_labels("\x00"), model.frequencies_)}
    keys = set(ours) | set(reference)
    return sum(abs(ours.get(key, 0.0) - reference.get(key, 0.0)) for key in keys)


@pytest.fixture(scope="session")
def kg20():
    genotypes = read_genotypes(str(KG_UNPHASED))
    return genotypes.select_loci(genotypes.loci[:20])


def sample_genotypes(haplotypes, freq, n_subjects, seed, missing=0.0):
    """Unphased genotypes of subjects drawing two haplotypes from ``freq``."""
    rng = np.random.default_rng(seed)
    haplotypes = np.asarray(haplotypes, dtype=np.int16)
    draws = rng.choice(len(freq), size=(n_subjects, 2), p=freq)
    alleles = np.stack([haplotypes[draws[:, 0]], haplotypes[draws[:, 1]]], axis=2)
    swap = rng.random(alleles.shape[:2]) < 0.5
    alleles[swap] = alleles[swap][:, ::-1]
    alleles[rng.random(alleles.shape) < missing] = -1
    n_loci = haplotypes.shape[1]
    names = [[str(a) for a in range(int(haplotypes[:, l].max()) + 1)] for l in range(n_loci)]
    return Genotypes(np.ascontiguousarray(alleles), [f"s{i}" for i in range(n_subjects)],
                     [f"L{l}" for l in range(n_loci)], names, source="generated")
