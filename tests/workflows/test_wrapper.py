"""The `emapps impute` Snakemake wrapper, called by a rule as a local wrapper, writes what
the command itself writes."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam

from ..conftest import DATA, run_cli

WRAPPER = Path(__file__).resolve().parents[2] / "workflows" / "wrappers" / "emapps" / "impute"


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
    environment = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    finished = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet"],
                              cwd=tmp_path, env=environment, capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert run_cli(capsys, "impute", target, "--ref", panel, "--seed", "1", "--threads", "2",
                   "-q", "-o", tmp_path / "direct.vcf.gz")[0] == 0
    np.testing.assert_array_equal(dosages(tmp_path / "imputed.vcf.gz"),
                                  dosages(tmp_path / "direct.vcf.gz"))
