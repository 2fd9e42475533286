"""``emapps haplo``: haplotype frequencies from a VCF/BCF or a genotype table."""

import click

from ..cli.genetics import regions_options, samples_options, selections
from ..cli.options import resolve_seed, seed_option, set_threads, threads_option
from ..core.progress import progress_bar, step
from .haplotype_em import HaplotypeEM

OUTPUTS = ("freqs.tsv", "pairs.tsv", "ld.tsv", "json")
#: the command's defaults are the estimator's
DEFAULTS = HaplotypeEM.default_params()


def _names(text):
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", "prefix", required=True,
              help="Output prefix: PREFIX.freqs.tsv, .pairs.tsv, .ld.tsv and .json.")
@click.option("--loci", default=None, help="Comma-separated locus names (table columns or "
              "VCF IDs), in the order to use.")
@regions_options
@samples_options
@click.option("--use-phase", is_flag=True, default=False,
              help="Trust phased VCF calls (a|b): one phase block per sample.")
@click.option("--n-init", "--starts", "starts", default=DEFAULTS["n_init"], show_default=True,
              help="Starts of the search: the first, then perturbations of the best.")
@click.option("--min-posterior", default=DEFAULTS["min_posterior"], show_default=True,
              help="Trim pairs below this posterior while loci are inserted.")
@click.option("--tol", default=DEFAULTS["tol"], show_default=True,
              help="Stop the final EM when the log-likelihood changes by less.")
@click.option("--max-iter", default=DEFAULTS["max_iter"], show_default=True)
@click.option("--min-freq", default=0.0, show_default=True,
              help="Leave rarer haplotypes out of PREFIX.freqs.tsv.")
@click.option("--missing", default="0,NA,,.", show_default=True,
              help="Comma-separated missing-allele codes in tables.")
@click.option("--id-column", default=None, help="Table column with subject ids.")
@click.option("--first-allele-column", type=int, default=None,
              help="Tables: every column from this one (1-based) on is an allele, two per "
                   "locus.")
@click.option("--no-se", is_flag=True, default=False,
              help="Skip standard errors (large haplotype sets).")
@seed_option
@threads_option
@click.option("--json", "record_path", default=None,
              help="Also write the run record (PREFIX.json) here ('-' for stdout).")
@click.option("-q", "--quiet", is_flag=True, default=False, help="No progress on stderr.")
def haplo(input_path, prefix, loci, regions, regions_file, samples, samples_file, use_phase,
          starts, min_posterior, tol, max_iter, min_freq, missing, id_column,
          first_allele_column, no_se, seed, threads, record_path, quiet):
    """Estimate haplotype frequencies by EM from unphased genotypes.

    INPUT is a VCF/BCF (plain or bgzipped; '-' for stdin) or a haplo.stats-style table
    (header; two columns per locus named <locus>.a1/<locus>.a2)."""
    import json
    import os
    from pathlib import Path

    from ..errors import UserInputError
    from ..io.outputs import check_outputs, commit_files, plain, write_json
    from .io import frequency_table, ld_table, pairs_table, read_genotypes

    if not 0.0 <= min_freq < 1.0:
        raise UserInputError(f"--min-freq must be in [0, 1); got {min_freq}")
    if prefix == "-" or prefix.endswith(("/", os.sep)) or Path(prefix).is_dir():
        raise UserInputError(f"-o takes a prefix for four files (PREFIX.freqs.tsv, ...), "
                             f"not {'stdout' if prefix == '-' else 'a folder'}: e.g. "
                             f"{Path(prefix if prefix != '-' else '.') / 'haplo'}")
    paths = {suffix: f"{prefix}.{suffix}" for suffix in OUTPUTS}
    check_outputs([*paths.values(), record_path],
                  inputs=[input_path, regions_file, samples_file])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    set_threads(threads)
    seed = resolve_seed(seed)
    model = HaplotypeEM(starts, random_state=seed, min_posterior=min_posterior, tol=tol,
                        max_iter=max_iter, standard_errors=not no_se)
    model.check_settings()
    genotypes = read_genotypes(input_path, loci=_names(loci), region=region,
                               samples=sample_selection, use_phase=use_phase,
                               missing=tuple(missing.split(",")), id_column=id_column,
                               first_allele_column=first_allele_column)
    if not quiet:
        click.echo(f"emapps haplo: {genotypes.n_subjects} subjects x {genotypes.n_loci} loci "
                   f"from {genotypes.source}, {starts} starts, seed {seed}", err=True)
    with progress_bar("start", total=starts, quiet=quiet) as bar:
        model.fit(genotypes, progress=step(bar))
    if not model.converged_:
        click.echo(f"emapps haplo: warning: {model.record_['warnings'][0]}", err=True)
    record = {**model.record_, "input": genotypes.source}

    def with_digests(digests):   # the set's index: each table's path and sha256
        record["outputs"] = {name: {"path": paths[name], "sha256": digests[paths[name]]}
                             for name in OUTPUTS if name != "json"}
        return json.dumps(record, indent=2, default=plain) + "\n"

    commit_files({paths["freqs.tsv"]: frequency_table(model, min_freq),
                  paths["pairs.tsv"]: pairs_table(model), paths["ld.tsv"]: ld_table(model)},
                 manifest=(paths["json"], with_digests))
    if record_path:
        write_json(record_path, record)
    if not quiet:
        lrt = model.lrt_
        click.echo(f"emapps haplo: log-likelihood {model.loglik_:.6f}, "
                   f"{model.frequencies_.shape[0]} haplotypes, no-LD test "
                   f"chi2 {lrt['statistic']:.2f} on {lrt['df']} df; wrote {prefix}.*", err=True)
    return 0
