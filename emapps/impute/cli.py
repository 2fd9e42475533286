"""``emapps impute``: impute and phase from a reference panel; ``mask`` and ``score`` run
imputation experiments."""

import json
import shlex
import sys
import time

import click

from ..cli.options import DefaultRunGroup, resolve_seed, seed_option, set_threads, threads_option
from ..core.runtime import command_line
from ..errors import UserInputError


def _index_paths(output, no_index: bool) -> list[str]:
    """The index files an indexed output may get (.tbi or .csi)."""
    if no_index or output in (None, "-"):
        return []
    return [f"{output}.tbi", f"{output}.csi"]


def _command() -> str:
    """The command line being run, for the output's header."""
    return shlex.join(command_line() or ["emapps", *sys.argv[1:]])


@click.group(cls=DefaultRunGroup)
def impute():
    """Genotype imputation fitted by EM: from a reference panel (Li & Stephens copying
    model, Baum-Welch) or within a cohort (fastPHASE haplotype clusters).

    \b
    emapps impute TARGET --ref PANEL -o OUT.vcf.gz [options]   (same as: emapps impute run)
    emapps impute TARGET -o OUT.vcf.gz                         (cohort mode: no panel)
    emapps impute mask INPUT -o MASKED.vcf.gz --design array|random
    emapps impute score IMPUTED --truth TRUTH --masked MASKED [--ref PANEL]
    """


region_option = click.option("-r", "--region", default=None,
                             help="chr:start-end (needs an index beside the files).")
samples_option = click.option("-s", "--samples", default=None,
                              help="Comma-separated samples, or @FILE with one per line.")
output_type_option = click.option("-O", "--output-type", "output_type", default=None,
                                  type=click.Choice(["v", "z", "b", "u"]),
                                  help="v VCF, z bgzipped VCF, b BCF, u uncompressed BCF "
                                       "(default: from the file name).")


@impute.command()
@click.argument("target")
@click.option("--ref", "panel_path", default=None,
              help="Phased reference panel (VCF/BCF, no missing alleles); without one, "
                   "cohort mode fills the target's missing calls.")
@click.option("-o", "--output", required=True, help="Output VCF/BCF; '-' for stdout.")
@output_type_option
@region_option
@samples_option
@click.option("--map", "map_path", default=None,
              help="Genetic map in PLINK format (chrom id cM bp); default 1 cM/Mb.")
@click.option("--states", default=16, show_default=True,
              help="Haplotypes kept per window of 64 markers and haplotype for phasing.")
@click.option("--phase-states", type=int, default=None,
              help="Panel mode: phase moves run over this many composite haplotypes "
                   "per sample, drawn from the panel and the other targets; a larger "
                   "panel is reduced to this many for fitting too (default 480).")
@click.option("--impute-states", type=int, default=None,
              help="Panel mode: the same for imputing (default 1600).")
@click.option("--cohort-model", type=click.Choice(["copying", "clusters"]), default="copying",
              show_default=True,
              help="Cohort mode: copying (the other samples' haplotypes as the panel) or "
                   "clusters (fastPHASE haplotype clusters by EM).")
@click.option("--rounds", default=6, show_default=True,
              help="Cohort mode, copying: Viterbi phasing rounds over the cohort (3 "
                   "refinement rounds follow).")
@click.option("--phasings", default=3, show_default=True,
              help="Cohort mode, copying: independent phasings whose genotype "
                   "probabilities are averaged (each adds about 75% of a one-phasing "
                   "run's time; on the missingness benchmark 3 fixed 11% of the wrong "
                   "calls of 1).")
@click.option("-k", "--clusters", default=10, show_default=True,
              help="Cohort mode, clusters: haplotype clusters.")
@click.option("--starts", default=4, show_default=True,
              help="Cohort mode, clusters: seeded EM fits whose imputations are averaged.")
@click.option("--max-iter", default=None, type=int,
              help="EM iterations (panel mode: in the first round, one fewer after it; "
                   "default 3 panel, 25 cohort).")
@click.option("--json", "record_path", default=None, help="Write the run record here.")
@click.option("--no-index", is_flag=True, help="Do not index bgzipped output.")
@seed_option
@threads_option
@click.option("-q", "--quiet", is_flag=True)
def run(target, panel_path, output, output_type, region, samples, map_path, states,
        phase_states, impute_states, cohort_model, rounds, phasings, clusters, starts, max_iter,
        record_path, no_index, seed, threads, quiet):
    """Impute (and phase) TARGET from a reference panel, or fill its missing calls from
    the cohort itself; write GT, DS, GP, AF, DR2 (and IMP for untyped panel sites).

    TARGET: VCF/BCF ('-' for stdin), unphased or phased, with missing calls allowed.
    Panel mode writes every panel site of the region; target sites the panel lacks, or
    with other REF/ALT alleles, are dropped and counted on stderr.  Cohort mode writes
    TARGET's biallelic sites, its calls kept (phased by the copying model) and the
    missing ones filled."""
    from .._version import __version__
    from ..core.record import run_record
    from ..io.outputs import check_outputs, write_json
    from .io import output_type as resolve_type
    from .io import read_calls, read_plink_map, read_samples_option, write_imputed

    mode = resolve_type(output, output_type)
    check_outputs([output, record_path, *_index_paths(output, no_index)],
                  inputs=[target, panel_path, map_path])
    set_threads(threads)
    seed = resolve_seed(seed)
    n_threads = threads or 1
    started = time.perf_counter()
    target_calls = read_calls(target, region=region, samples=read_samples_option(samples),
                              threads=n_threads)
    genetic_map = read_plink_map(map_path) if map_path else None
    timings = {"read_target": time.perf_counter() - started}
    if panel_path is None and cohort_model == "clusters":
        from .cohort import CohortImputer
        imputer = CohortImputer(clusters, n_init=starts, max_iter=max_iter or 25,
                                random_state=seed).fit(target_calls)
        result = imputer.predict()
        summary = (f"{len(result.samples)} samples x {target_calls.n_sites} sites, "
                   f"{result.record['missing_calls']} missing calls filled; {clusters} "
                   f"clusters, {starts} starts, log-likelihoods "
                   + ", ".join(f"{value:.1f}" for value in imputer.logliks_))
        dropped = target_calls.skipped
    elif panel_path is None:
        from .copier import CohortCopier
        result = CohortCopier(per_window=states, rounds=rounds, phasings=phasings,
                              random_state=seed,
                              genetic_map=genetic_map).fit(target_calls).predict()
        summary = (f"{len(result.samples)} samples x {target_calls.n_sites} sites, "
                   f"{result.record['missing_calls']} missing calls filled and phased; "
                   f"{rounds} + {result.record['refine_rounds']} rounds over the cohort's "
                   f"own haplotypes, theta {result.record['theta']:.3g}")
        dropped = target_calls.skipped
    else:
        from .model import ReferenceImputer
        panel = read_calls(panel_path, region=region, threads=n_threads)
        reduction = {name: value for name, value in (("phase_states", phase_states),
                                                      ("impute_states", impute_states))
                     if value is not None}
        imputer = ReferenceImputer(per_window=states, max_iter=max_iter or 3,
                                   genetic_map=genetic_map, **reduction).fit(target_calls,
                                                                             panel)
        result = imputer.predict()
        summary = (f"{len(result.samples)} samples, {len(imputer.match_.typed)} typed of "
                   f"{panel.n_sites} panel sites ({2 * len(panel.samples)} haplotypes); "
                   f"theta {imputer.params_.theta:.4g}, eps {imputer.params_.mismatch:.3g}, "
                   f"log-likelihood {imputer.loglik_:.2f}")
        dropped = {**result.record["dropped_target_sites"], **target_calls.skipped}
    timings["fit_and_impute"] = time.perf_counter() - started - sum(timings.values())
    command = _command()
    write_imputed(output, result, target_calls, mode=mode, command=command,
                  version=__version__, threads=n_threads, index=not no_index)
    timings["write"] = time.perf_counter() - started - sum(timings.values())
    timings["total"] = time.perf_counter() - started
    settings = {"mode": "panel" if panel_path else "cohort", "cohort_model": cohort_model,
                "states": states, "phase_states": phase_states, "impute_states": impute_states,
                "rounds": rounds, "phasings": phasings, "clusters": clusters, "starts": starts,
                "max_iter": max_iter, "map": map_path, "region": region, "samples": samples,
                "threads": n_threads}
    warnings = [f"{value} {key.replace('_', ' ')}" for key, value in dropped.items()]
    if record_path:
        own = dict(result.record)
        timings = {**own.pop("timings", {}), **timings}
        trace = own.pop("trace", [])
        log_likelihood = own.pop("log_likelihood", None)
        write_json(record_path, run_record(
            settings=settings, seed=None if panel_path else seed, log_likelihood=log_likelihood,
            trace=trace, n_iter=own.pop("n_iter", len(trace)) if panel_path else None,
            converged=own.pop("converged", None), timings=timings, warnings=warnings,
            target=target_calls.source, panel=panel_path, output=output,
            samples=len(result.samples), **own))
    if not quiet:
        click.echo(f"emapps impute: {summary}" + ("" if panel_path else f"; seed {seed}")
                   + (f"; target sites dropped: {', '.join(warnings)}" if warnings else "")
                   + (f"; wrote {output}" if output != "-" else ""), err=True)
    return 0


@impute.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, help="Masked VCF/BCF ('-' for stdout).")
@output_type_option
@click.option("--design", type=click.Choice(["array", "random"]), required=True,
              help="array: keep every --every-th site; random: hide calls at --rate.")
@click.option("--every", default=10, show_default=True, help="array: keep 1 site in this many.")
@click.option("--offset", default=0, show_default=True, help="array: which one (0-based).")
@click.option("--rate", default=0.05, show_default=True, help="random: share of calls hidden.")
@region_option
@samples_option
@seed_option
def mask(input_path, output, output_type, design, every, offset, rate, region, samples, seed):
    """Mask genotypes of INPUT for an imputation experiment: the output holds unphased GT
    only; INPUT itself is the truth for `emapps impute score`."""
    from .._version import __version__
    from ..io.outputs import check_outputs
    from .evaluate import mask_array, mask_random, unphased_vcf
    from .io import output_type as resolve_type
    from .io import read_calls, read_samples_option, write_vcf_text

    mode = resolve_type(output, output_type)
    check_outputs([output, *_index_paths(output, False)], inputs=[input_path])
    calls = read_calls(input_path, region=region, samples=read_samples_option(samples))
    if design == "array":
        masked = mask_array(calls, every, offset)
        summary = f"kept {masked.n_sites} of {calls.n_sites} sites (1 in {every})"
    else:
        seed = resolve_seed(seed)
        masked, hidden = mask_random(calls, rate, seed)
        summary = f"hid {hidden} calls (rate {rate:g}, seed {seed})"
    command = _command()
    header, lines = unphased_vcf(masked, command, __version__)
    write_vcf_text(output, header, lines, mode=mode)
    click.echo(f"emapps impute mask: {summary}; {len(calls.samples)} samples", err=True)
    return 0


@impute.command()
@click.argument("chunks", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Ligated VCF/BCF ('-' for stdout).")
@output_type_option
@click.option("--no-index", is_flag=True, help="Do not index bgzipped output.")
@threads_option
@click.option("-q", "--quiet", is_flag=True)
def ligate(chunks, output, output_type, no_index, threads, quiet):
    """Join overlapping imputed CHUNKS of one chromosome into one file: at each overlap the
    later chunk's haplotypes are swapped per sample to agree with the earlier chunk's
    phase, and the records switch chunk in the middle of the overlap."""
    from ..io.outputs import check_outputs
    from .io import output_type as resolve_type
    from .ligate import ligate as join_chunks

    if "-" in chunks:
        raise UserInputError("ligate reads each chunk twice: give files, not '-'")
    mode = resolve_type(output, output_type)
    check_outputs([output, *_index_paths(output, no_index)], inputs=chunks)
    command = _command()
    set_threads(threads)
    summary = join_chunks(list(chunks), output, mode=mode, threads=threads or 1,
                          index=not no_index, command=command)
    if not quiet:
        for junction in summary["junctions"]:
            click.echo(f"emapps impute ligate: {junction['after']} | {junction['before']}: "
                       f"{junction['overlap']} shared records, cut after "
                       f"{junction['cut']}, {junction['swapped']} samples swapped", err=True)
    return 0


@impute.command()
@click.argument("imputed")
@click.option("--truth", required=True, help="The unmasked calls (VCF/BCF).")
@click.option("--masked", required=True, help="The masked input given to the imputation.")
@click.option("--ref", "panel_path", default=None,
              help="Reference panel: MAF bins from it (else from the truth).")
@region_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def score(imputed, truth, masked, panel_path, region, as_json):
    """Score IMPUTED on the entries hidden in MASKED: coverage, concordance, non-reference
    concordance, mean per-site and pooled dosage r2 by MAF bin, and the correlation of
    DR2 with the true per-site r2."""
    from .evaluate import score as score_imputation
    from .io import read_calls

    truth_calls = read_calls(truth, region=region)
    masked_calls = read_calls(masked, region=region)
    reference = read_calls(panel_path, region=region) if panel_path else None
    table = score_imputation(imputed, truth_calls, masked_calls, reference)
    if as_json:
        click.echo(json.dumps(table, indent=2))
        return 0
    names = ["sites", "entries", "coverage", "concordance", "nonref_concordance", "r2_mean",
             "r2_sites", "r2_pooled"]
    click.echo("maf_bin\t" + "\t".join(names))
    for label, row in table.items():
        if label == "dr2_correlation":
            continue
        click.echo(label + "\t" + "\t".join(_cell(row[name]) for name in names))
    click.echo(f"corr(DR2, r2)\t{_cell(table['dr2_correlation'])}")
    return 0


def _cell(value) -> str:
    if value is None:
        return "NA"
    return f"{value:.4f}" if isinstance(value, float) else str(value)
