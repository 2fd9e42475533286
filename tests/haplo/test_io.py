"""Genotype loaders: VCF/BCF via pysam and haplo.stats-style tables, with bad input."""

import numpy as np
import pysam
import pytest

from emapps.errors import UserInputError
from emapps.haplo import read_genotypes

from .conftest import KG_UNPHASED

HEADER = """##fileformat=VCFv4.2
##contig=<ID=1,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC
"""


def write_vcf(tmp_path, records, name="g.vcf"):
    path = tmp_path / name
    path.write_text(HEADER + "".join("\t".join(r) + "\n" for r in records))
    return str(path)


def test_vcf_multiallelic_missing_and_phase(tmp_path):
    path = write_vcf(tmp_path, [
        ["1", "10", "rs1", "A", "C,G", ".", ".", ".", "GT", "0/2", "./.", "2|0"],
        ["1", "20", ".", "T", "C", ".", ".", ".", "GT", "1/.", "0/0", "0|1"],
    ])
    genotypes = read_genotypes(path, use_phase=True)
    assert genotypes.loci == ["rs1", "1:20"]
    assert genotypes.allele_names == [["A", "G"], ["T", "C"]]  # unseen allele C dropped
    assert genotypes.alleles[:, 0].tolist() == [[0, 1], [-1, -1], [1, 0]]
    assert genotypes.alleles[:, 1].tolist() == [[1, -1], [0, 0], [0, 1]]
    assert genotypes.phased.tolist() == [[False, False], [False, False], [True, True]]
    assert not read_genotypes(path).phased.any()


@pytest.mark.parametrize("call, kind", [("0", "haploid"), ("0/1/1", "3-ploid")])
def test_vcf_non_diploid_call_is_named(tmp_path, call, kind):
    path = write_vcf(tmp_path, [["1", "10", "rs1", "A", "C", ".", ".", ".", "GT", "0/1", call,
                                 "0/0"]])
    with pytest.raises(UserInputError, match=f"1:10 sample B has a {kind} call"):
        read_genotypes(path)


def test_malformed_vcf_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "1\tten\trs1\tA\tC\t.\t.\t.\tGT\t0/1\t0/0\t0/0\n")
    with pytest.raises(UserInputError, match="bad.vcf"):
        read_genotypes(str(path))
    with pytest.raises(UserInputError, match="no such file"):
        read_genotypes(str(tmp_path / "absent.vcf"))


def test_region_and_samples_on_a_bgzipped_indexed_vcf(tmp_path):
    plain = tmp_path / "kg.vcf"
    plain.write_bytes(KG_UNPHASED.read_bytes())
    compressed = pysam.tabix_index(str(plain), preset="vcf")
    genotypes = read_genotypes(compressed, region="20:1001000-1005000",
                               samples=["HG00096", "HG00097"])
    assert genotypes.subjects == ["HG00096", "HG00097"]
    assert 0 < genotypes.n_loci < 100
    with pytest.raises(UserInputError, match="not in the file"):
        read_genotypes(compressed, samples=["NOBODY"])
    with pytest.raises(UserInputError, match="needs an index"):
        read_genotypes(str(KG_UNPHASED), region="20:1001000-1005000")


def test_table_with_suffix_pairs_strings_and_missing(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("id\tage\tX.a1\tX.a2\tY.a1\tY.a2\n"
                    "s1\t30\t10\t2\tA\tB\n"
                    "s2\t31\t0\t10\tNA\tA\n"
                    "s3\t32\t2\t2\t\t.\n")
    genotypes = read_genotypes(str(path))
    assert genotypes.loci == ["X", "Y"]
    assert genotypes.subjects == ["s1", "s2", "s3"]
    assert genotypes.allele_names == [["2", "10"], ["A", "B"]]  # natural order
    assert genotypes.alleles.tolist() == [[[1, 0], [0, 1]], [[-1, 1], [-1, 0]],
                                          [[0, 0], [-1, -1]]]
    assert read_genotypes(str(path), loci=["Y"]).loci == ["Y"]


def test_table_errors_say_what_and_where(tmp_path):
    odd = tmp_path / "odd.tsv"
    odd.write_text("X.a1\tX.a2\tY.a1\n1\t2\t1\n")
    with pytest.raises(UserInputError, match="odd number of allele columns for locus 'Y'"):
        read_genotypes(str(odd))
    with pytest.raises(UserInputError, match=r"odd number of allele columns \(3\)"):
        read_genotypes(str(odd), first_allele_column=1)
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("X.a1\tX.a2\n1\t2\n1\n")
    with pytest.raises(UserInputError, match="line 3 has 1 fields"):
        read_genotypes(str(ragged))
    good = tmp_path / "good.tsv"
    good.write_text("X.a1\tX.a2\n1\t2\n")
    with pytest.raises(UserInputError, match="unknown locus name"):
        read_genotypes(str(good), loci=["Z"])
    empty = tmp_path / "empty.tsv"
    empty.write_text("X.a1\tX.a2\n0\t0\nNA\t\n")
    with pytest.raises(UserInputError, match="no subjects left"):
        read_genotypes(str(empty))
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(UserInputError, match="not a text genotype table"):
        read_genotypes(str(binary))


def test_shipped_table_and_vcf_agree():
    genotypes = read_genotypes(str(KG_UNPHASED))
    assert genotypes.n_subjects == 300 and genotypes.n_loci == 100
    calls = genotypes.alleles
    assert calls.min() == 0 and calls.max() == 1
    assert np.all(np.sort(calls, axis=2) == calls)  # a/b written with alleles sorted


def test_bcf_reads_like_its_vcf(tmp_path):
    bcf = tmp_path / "kg.bcf"
    with pysam.VariantFile(str(KG_UNPHASED)) as source, \
            pysam.VariantFile(str(bcf), "wb", header=source.header) as target:
        for record in source:
            target.write(record)
    from_vcf, from_bcf = read_genotypes(str(KG_UNPHASED)), read_genotypes(str(bcf))
    assert from_bcf.loci == from_vcf.loci and from_bcf.subjects == from_vcf.subjects
    assert np.array_equal(from_bcf.alleles, from_vcf.alleles)
