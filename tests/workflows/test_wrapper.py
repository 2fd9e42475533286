"""The `emapps impute` Snakemake wrapper, called by a rule as a local wrapper, writes what
the command itself writes."""

import numpy as np
import pysam

from ..conftest import DATA, run_cli
from .conftest import WORKFLOWS, run_snakemake

WRAPPER = WORKFLOWS / "wrappers" / "emapps" / "impute"


def dosages(path):
    with pysam.VariantFile(str(path)) as vcf:
        return np.array([[sample["DS"][0] for sample in record.samples.values()]
                         for record in vcf])


def test_the_wrapper_runs_emapps_impute(tmp_path, capsys):
    target, panel = DATA / "impute" / "target.vcf.gz", DATA / "impute" / "ref.vcf.gz"
    (tmp_path / "Snakefile").write_text(f"""
rule impute:
    input:
        target="{target}",
        ref="{panel}",
    output:
        "imputed.vcf.gz",
    params:
        seed=1,
        extra="-q",
    threads: 2
    log:
        "impute.log",
    wrapper:
        "file:{WRAPPER}"
""")
    run_snakemake(cwd=tmp_path)
    assert run_cli(capsys, "impute", target, "--ref", panel, "--seed", "1", "--threads", "2",
                   "-q", "-o", tmp_path / "direct.vcf.gz")[0] == 0
    np.testing.assert_array_equal(dosages(tmp_path / "imputed.vcf.gz"),
                                  dosages(tmp_path / "direct.vcf.gz"))
