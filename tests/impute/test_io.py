"""Imputation I/O: reading calls, checks of bad input with one clear message, the site
match, genetic maps, and the output VCF's fields."""

import gzip

import numpy as np
import pysam
import pytest

from emapps.errors import UserInputError
from emapps.impute.io import (check_panel, genetic_positions, match_sites, read_calls,
                              read_genetic_map)
from emapps.impute.vcf_output import output_type, write_vcf_text

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=20>\n"
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n")


def vcf(tmp_path, body, name="x.vcf"):
    path = tmp_path / name
    path.write_text(HEADER + body)
    return str(path)


def test_calls_are_read_with_missing_alleles_and_skipped_records_counted(tmp_path):
    path = vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t./.\n"
                         "20\t20\t.\tA\tG,T\t.\t.\t.\tGT\t0/1\t1/2\n"
                         "20\t30\trs3\tC\tT\t.\t.\t.\tGT:DP\t1/1:4\t0/.:2\n")
    calls = read_calls(path)
    assert calls.pos.tolist() == [10, 30] and calls.skipped == {"multiallelic": 1}
    np.testing.assert_array_equal(calls.genotypes(), [[1, 2], [-1, -1]])
    assert calls.phased[0].tolist() == [True, False] and calls.ids.tolist() == [".", "rs3"]


@pytest.mark.parametrize("body, message", [
    ("20\t30\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n20\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n",
     "not sorted"),
    ("20\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1/1\t0/0\n", "3-ploid call"),
])
def test_bad_target_records_say_what_and_where(tmp_path, body, message):
    with pytest.raises(UserInputError, match=message):
        read_calls(vcf(tmp_path, body))


def test_text_bgzipped_and_bcf_inputs_read_alike(tmp_path):
    """Whole text files are read as lines, BCF and regions through pysam's records."""
    body = ("20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t./.\n"
            "20\t20\t.\tA\t.\t.\t.\t.\tGT\t0|0\t0|0\n"
            "20\t30\trs3\tC\tT\t.\t.\t.\tGT\t1/1\t0/.\n")
    plain = vcf(tmp_path, body)
    pysam.tabix_compress(plain, str(tmp_path / "x.vcf.gz"))
    pysam.tabix_index(str(tmp_path / "x.vcf.gz"), preset="vcf")
    with pysam.VariantFile(plain) as source, pysam.VariantFile(
            str(tmp_path / "x.bcf"), "wb", header=source.header) as out:
        for record in source:
            out.write(record)
    reads = [read_calls(plain), read_calls(str(tmp_path / "x.vcf.gz")),
             read_calls(str(tmp_path / "x.bcf")),
             read_calls(str(tmp_path / "x.vcf.gz"), region="20:1-100")]
    for calls in reads:
        assert calls.pos.tolist() == [10, 30] and calls.skipped == {"no_alt": 1}
        assert calls.ids.tolist() == [".", "rs3"] and calls.alt.tolist() == ["G", "T"]
        np.testing.assert_array_equal(calls.alleles, reads[0].alleles)
        np.testing.assert_array_equal(calls.phased, reads[0].phased)


def test_blank_lines_of_a_text_vcf_are_skipped(tmp_path):
    calls = read_calls(vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t1|1\n\n"))
    assert calls.pos.tolist() == [10]


@pytest.mark.parametrize("body, message", [
    ("20\t10\t.\tA\tG\t.\t.\t.\n", "malformed VCF record .*8 columns"),
    ("20\tten\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n", "malformed VCF record"),
    ("20\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\n", "20:10 has 1 sample columns; the header "
                                              "names 2"),
])
def test_malformed_text_records_say_where(tmp_path, body, message):
    with pytest.raises(UserInputError, match=message):
        read_calls(vcf(tmp_path, "20\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n" + body))


@pytest.mark.parametrize("mode, name", [("v", "o.vcf"), ("z", "o.vcf.gz"), ("b", "o.bcf")])
def test_written_text_reads_back_with_pysam_and_an_index(tmp_path, mode, name):
    header = HEADER.replace("##contig", '##FILTER=<ID=PASS,Description="Passed">\n##contig')
    lines = ["20\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
             "20\t30\t.\tC\tT\t.\tPASS\t.\tGT\t0|0\t1|0\n"]
    write_vcf_text(str(tmp_path / name), header, lines, mode=mode)
    with pysam.VariantFile(str(tmp_path / name)) as result:
        assert str(result.header).splitlines()[1].startswith("##FILTER=<ID=PASS,")
        assert str(result.header).count("ID=PASS,") == 1
        assert [record.samples["B"]["GT"] for record in result] == [(1, 1), (1, 0)]
    suffix = {"v": None, "z": ".tbi", "b": ".csi"}[mode]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [name] + ([name + suffix] if suffix else []))


def test_a_panel_must_be_phased_and_complete(tmp_path):
    unphased = read_calls(vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t0/1\n"))
    with pytest.raises(UserInputError, match="20:10 sample B is unphased"):
        check_panel(unphased)
    missing = read_calls(vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t.|1\n", "m.vcf"))
    with pytest.raises(UserInputError, match="missing allele"):
        check_panel(missing)


def test_site_match_counts_allele_mismatches_and_rejects_foreign_contigs(tmp_path):
    panel = read_calls(vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\t0|0\n"
                                     "20\t20\t.\tC\tT\t.\t.\t.\tGT\t0|1\t0|0\n", "p.vcf"))
    target = read_calls(vcf(tmp_path, "20\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n"
                                      "20\t20\t.\tT\tC\t.\t.\t.\tGT\t0/1\t0/0\n"
                                      "20\t25\t.\tG\tA\t.\t.\t.\tGT\t0/1\t0/0\n", "t.vcf"))
    match = match_sites(target, panel)
    assert match.typed.tolist() == [0] and match.dropped == {"allele_mismatch": 1,
                                                             "not_in_panel": 1}
    other = read_calls(vcf(tmp_path, "21\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n", "o.vcf"))
    with pytest.raises(UserInputError, match="contig"):
        match_sites(other, panel)


def test_genetic_map_interpolates_and_extrapolates(tmp_path):
    path = tmp_path / "m.map.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("20 . 1.0 1000\n20 . 2.0 2000\n20 . 4.0 3000\n")
    genetic_map = read_genetic_map(path)
    cm = genetic_positions(np.array(["20"] * 4), np.array([500, 1500, 2500, 4000]), genetic_map)
    np.testing.assert_allclose(cm, [0.5, 1.5, 3.0, 6.0])
    (tmp_path / "bad.map").write_text("20 . x 1000\n")
    with pytest.raises(UserInputError, match="line 1: cM and bp must be numbers"):
        read_genetic_map(tmp_path / "bad.map")


def test_output_type_follows_the_flag_then_the_name():
    assert output_type("x.vcf.gz") == "z" and output_type("x.bcf") == "b"
    assert output_type("-") == "v" and output_type("x.vcf.gz", "b") == "b"


def test_imputed_vcf_has_beagle_fields(tmp_path):
    from emapps.cli import main
    from ..conftest import DATA
    out = tmp_path / "out.vcf.gz"
    status = main(["impute", str(DATA / "impute" / "target.vcf.gz"), "--ref",
                   str(DATA / "impute" / "ref.vcf.gz"), "-o", str(out), "--seed", "0",
                   "--max-iter", "2", "-q"])
    assert status == 0 and (tmp_path / "out.vcf.gz.tbi").exists()
    with pysam.VariantFile(str(out)) as result:
        header = result.header
        assert {"AF", "DR2", "IMP"} <= set(header.info) and {"GT", "DS", "GP"} <= set(
            header.formats)
        assert any(line.startswith("##source=emapps-") for line in str(header).splitlines())
        records = list(result.fetch("20", 1_000_000, 1_010_000))
    imputed = [record for record in records if record.info.get("IMP")]
    assert imputed and len(imputed) < len(records)
    sample = imputed[0].samples[0]
    assert sample.phased and len(sample["GP"]) == 3
    assert sample["DS"][0] == pytest.approx(sample["GP"][1] + 2 * sample["GP"][2], abs=0.011)


def test_genetic_maps_in_plink_and_shapeit_layouts_agree(tmp_path):
    from emapps.impute.io import read_genetic_map

    from ..conftest import DATA

    plink = read_genetic_map(DATA / "impute" / "chr20.slice.plink.map.gz")
    bp, cm = plink["20"]
    rows = "".join(f"{int(b)}\t20\t{c!r}\n" for b, c in zip(bp.tolist(), cm.tolist()))
    (tmp_path / "with_header.gmap").write_text("pos\tchr\tcM\n" + rows)
    (tmp_path / "bare.gmap").write_text(rows)
    (tmp_path / "reordered.gmap").write_text("chr cM pos\n" + "".join(
        f"20 {c!r} {int(b)}\n" for b, c in zip(bp.tolist(), cm.tolist())))
    for name in ("with_header.gmap", "bare.gmap", "reordered.gmap"):
        other = read_genetic_map(tmp_path / name)["20"]
        np.testing.assert_array_equal(other[0], bp)
        np.testing.assert_array_equal(other[1], cm)
    (tmp_path / "nan.gmap").write_text("pos\tchr\tcM\n100\t20\tnan\n")
    with pytest.raises(UserInputError, match="line 2: cM is nan"):
        read_genetic_map(tmp_path / "nan.gmap")
    (tmp_path / "five.map").write_text("20 . 1.0 100 x\n")
    with pytest.raises(UserInputError, match="line 1 has 5 fields"):
        read_genetic_map(tmp_path / "five.map")


def test_a_repeated_record_is_read_once_and_counted(tmp_path):
    from emapps.impute.io import read_calls

    from ..conftest import DATA

    lines = gzip.open(DATA / "impute" / "target.vcf.gz", "rt").read().splitlines(True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    (tmp_path / "dup.vcf").write_text("".join(header + body[:5] + [body[4]] + body[5:20]))
    calls = read_calls(tmp_path / "dup.vcf")
    assert calls.n_sites == 20 and calls.skipped == {"duplicate": 1}
