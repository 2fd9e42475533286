"""Multi-allelic records: split into biallelic sites for the model (as `bcftools norm -m-`)
and joined back in the output (as `-m+`), in panel and cohort mode."""

import numpy as np
import pysam
import pytest

from emapps.impute.io import read_calls

from ..conftest import run_cli

N_PANEL, N_TARGET, N_SITES = 100, 12, 300


def multiallelic(site) -> bool:
    return site % 25 == 7


def write_vcf(path, haplotypes, samples, sites, phased=True):
    """A bgzipped, indexed VCF of allele codes (sites, 2 x samples); multi-allelic sites
    have ALT T,G."""
    separator = "|" if phased else "/"
    text = path.with_suffix("")
    with open(text, "w") as handle:
        handle.write('##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,'
                     'Type=String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\t'
                     'FILTER\tINFO\tFORMAT\t' + "\t".join(samples) + "\n")
        for s in sites:
            cells = [f"{haplotypes[s, 2 * k]}{separator}{haplotypes[s, 2 * k + 1]}"
                     for k in range(len(samples))]
            handle.write(f"1\t{1000 + 100 * s}\tr{s}\tA\t{'T,G' if multiallelic(s) else 'T'}"
                         f"\t.\t.\t.\tGT\t" + "\t".join(cells) + "\n")
    pysam.tabix_compress(str(text), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    text.unlink()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Haplotypes copying 12 founders; every 25th site has a second ALT allele."""
    folder = tmp_path_factory.mktemp("multiallelic")
    rng = np.random.default_rng(0)
    founders = rng.integers(0, 3, (N_SITES, 12))
    founders[rng.random(founders.shape) < 0.6] = 0
    founders = np.where([[multiallelic(s)] for s in range(N_SITES)], founders,
                        np.minimum(founders, 1))
    haplotypes = founders[:, rng.integers(0, 12, 2 * (N_PANEL + N_TARGET))]
    panel, truth = haplotypes[:, :2 * N_PANEL], haplotypes[:, 2 * N_PANEL:]
    targets = [f"T{k}" for k in range(N_TARGET)]
    write_vcf(folder / "panel.vcf.gz", panel, [f"R{k}" for k in range(N_PANEL)],
              range(N_SITES))
    typed = [s for s in range(N_SITES) if s % 5 == 0 or s == 7]
    write_vcf(folder / "target.vcf.gz", truth, targets, typed, phased=False)
    return folder, truth, typed


def records(path):
    with pysam.VariantFile(str(path)) as vcf:
        return [(record.pos, record.alts, [record.samples[k]["GT"] for k in record.samples],
                 [record.samples[k]["DS"] for k in record.samples]) for record in vcf]


def test_split_records_read_as_bcftools_norm_splits_them(inputs):
    folder, truth, _ = inputs
    calls = read_calls(str(folder / "panel.vcf.gz"), split=True)
    assert calls.n_sites == N_SITES + N_SITES // 25
    site = np.flatnonzero(calls.pos == 1700)
    np.testing.assert_array_equal(calls.alt[site], ["T", "G"])
    assert calls.records[site[0]] == calls.records[site[1]] == 7
    for row, allele in zip(site, (1, 2)):   # allele i reads 1, every other allele 0
        np.testing.assert_array_equal(calls.alleles[0, :, row],
                                      (np.asarray(read_haplotypes(folder)[7, 0::2])
                                       == allele))
    assert read_calls(str(folder / "panel.vcf.gz")).skipped == {"multiallelic": 12}


def read_haplotypes(folder):
    with pysam.VariantFile(str(folder / "panel.vcf.gz")) as vcf:
        return np.array([[allele for sample in record.samples.values()
                          for allele in sample["GT"]] for record in vcf])


@pytest.mark.parametrize("mode", ["panel", "cohort"])
def test_multiallelic_records_come_back_joined(inputs, tmp_path, capsys, mode):
    folder, truth, typed = inputs
    out = tmp_path / "out.vcf.gz"
    reference = ["--ref", folder / "panel.vcf.gz"] if mode == "panel" else []
    status, _, err = run_cli(capsys, "impute", folder / "target.vcf.gz", *reference, "-o",
                             out, "--seed", "1", "-q")
    assert status == 0, err
    written = records(out)
    sites = list(range(N_SITES)) if mode == "panel" else typed
    assert [pos for pos, *_ in written] == [1000 + 100 * s for s in sites]
    for (pos, alts, calls, doses), site in zip(written, sites):
        assert alts == (("T", "G") if multiallelic(site) else ("T",))
        assert all(len(dose) == len(alts) for dose in doses)
        true = [tuple(sorted(truth[site, 2 * k:2 * k + 2])) for k in range(N_TARGET)]
        if site in typed:                         # an observed call is kept
            assert [tuple(sorted(call)) for call in calls] == true
        elif multiallelic(site):                  # imputed: mostly right
            agree = np.mean([tuple(sorted(call)) == t for call, t in zip(calls, true)])
            assert agree >= 0.75
