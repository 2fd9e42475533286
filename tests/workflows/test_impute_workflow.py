"""workflows/impute run for real by Snakemake on the bundled slice: three overlapping
chunks imputed and ligated, against one unchunked run (the same sites, samples and typed
calls; the imputed calls as accurate)."""

import numpy as np

from emapps.impute.io import read_calls

from ..conftest import DATA, run_cli
from .conftest import WORKFLOWS, run_snakemake


def test_scattered_imputation_gathers_to_the_unchunked_run(tmp_path, capsys):
    target, panel = DATA / "impute" / "target.vcf.gz", DATA / "impute" / "ref.vcf.gz"
    config = tmp_path / "config.yaml"
    config.write_text(f"target: {target}\nref: {panel}\nchunk_cm: 0.09\n"
                      f"overlap_cm: 0.06\noutdir: out\nseed: 1\nthreads: 1\n")
    run_snakemake("-s", WORKFLOWS / "impute" / "Snakefile", "--directory", tmp_path,
                  "--configfile", config)
    chunks = sorted((tmp_path / "out" / "chunks").glob("chunk*.vcf.gz"))
    assert len(chunks) == 3
    assert (tmp_path / "out" / "imputed.vcf.gz.tbi").exists()
    assert run_cli(capsys, "impute", target, "--ref", panel, "-o", tmp_path / "one.vcf.gz",
                   "--seed", "1", "-q")[0] == 0
    gathered = read_calls(str(tmp_path / "out" / "imputed.vcf.gz"))
    single = read_calls(str(tmp_path / "one.vcf.gz"))
    np.testing.assert_array_equal(gathered.keys(), single.keys())   # every site once
    assert gathered.samples == single.samples
    typed = np.isin(single.pos, read_calls(str(target)).pos)
    np.testing.assert_array_equal(gathered.genotypes()[:, typed], single.genotypes()[:, typed])
    truth = read_calls(str(DATA / "impute" / "truth.vcf.gz")).genotypes()
    concordance = [(calls.genotypes()[:, ~typed] == truth[:, ~typed]).mean()
                   for calls in (gathered, single)]
    assert concordance[0] > concordance[1] - 0.005   # imputed as well as unchunked
