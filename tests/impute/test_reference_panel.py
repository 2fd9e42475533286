"""Reference panels: streamed from a VCF, converted to the compact file and read back,
checked on load, and refused in one line when damaged or overlapping the target."""

import gzip

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.impute.io import read_calls
from emapps.impute.reference_panel import (MAGIC, load_panel, panel_from_calls, read_panel,
                                           save_panel)

from ..conftest import DATA, run_cli

SLICE = DATA / "impute"


@pytest.fixture(scope="module")
def panel():
    return read_panel(str(SLICE / "ref.vcf.gz"))


def test_a_streamed_panel_holds_the_vcfs_haplotypes(panel):
    calls = read_calls(str(SLICE / "ref.vcf.gz"))
    np.testing.assert_array_equal(panel.rows(), panel_from_calls(calls).rows())
    np.testing.assert_array_equal(panel.rows()[:, :calls.alleles.shape[1]].T,
                                  calls.alleles[0])
    np.testing.assert_array_equal(panel.keys(), calls.keys())
    assert panel.samples == calls.samples
    np.testing.assert_allclose(panel.alt_frequency(), calls.alleles.mean(axis=(0, 1)))


def test_the_compact_file_reads_back_whole_and_by_region(panel, tmp_path):
    path = tmp_path / "ref.emref"
    save_panel(panel, path)
    again = read_panel(str(path))
    np.testing.assert_array_equal(again.rows(), panel.rows())
    np.testing.assert_array_equal(again.keys(), panel.keys())
    assert again.samples == panel.samples
    region = f"{panel.chrom[0]}:{panel.pos[100]}-{panel.pos[700]}"
    part = read_panel(str(path), region=region)
    np.testing.assert_array_equal(part.rows(), panel.rows()[100:701])
    np.testing.assert_array_equal(part.pos, panel.pos[100:701])


@pytest.mark.parametrize("damage, message", [
    ("flip", "checksum"), ("truncate", "truncated or damaged"), ("version", "version 9")])
def test_a_damaged_compact_file_is_refused(panel, tmp_path, damage, message):
    path = tmp_path / "ref.emref"
    save_panel(panel, path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-100] ^= 0xFF
    elif damage == "truncate":
        data = data[:len(data) // 2]
    else:
        data[len(MAGIC)] = 9
    path.write_bytes(bytes(data))
    with pytest.raises(UserInputError, match=message):
        load_panel(path)


def test_convert_then_impute_writes_what_the_vcf_panel_gives(tmp_path, capsys):
    compact = tmp_path / "ref.emref"
    status, _, err = run_cli(capsys, "impute", "convert", SLICE / "ref.vcf.gz", "-o", compact)
    assert status == 0 and "480 haplotypes" in err
    outputs = []
    for name, reference in (("vcf", SLICE / "ref.vcf.gz"), ("compact", compact)):
        out = tmp_path / f"{name}.vcf.gz"
        status, _, err = run_cli(capsys, "impute", SLICE / "target.vcf.gz", "--ref",
                                 reference, "-o", out, "-q")
        assert status == 0, err
        with gzip.open(out, "rt") as handle:
            outputs.append([line for line in handle if not line.startswith("##emapps_")])
    assert outputs[0] == outputs[1]


def test_bad_panels_are_one_line_errors_and_nothing_is_written(panel, tmp_path, capsys):
    broken = tmp_path / "broken.emref"
    save_panel(panel, broken)
    broken.write_bytes(broken.read_bytes()[:5000])
    output = tmp_path / "out.vcf.gz"
    for reference, expected in ((broken, "truncated or damaged"),
                                (SLICE / "truth.vcf.gz", "in the reference panel")):
        status, _, err = run_cli(capsys, "impute", SLICE / "target.vcf.gz", "--ref",
                                 reference, "-o", output)
        assert status == 2 and expected in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not output.exists()
