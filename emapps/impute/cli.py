"""``emapps impute``: impute and phase from a reference panel; ``mask`` and ``score`` run
imputation experiments."""

import shlex
import sys
import time

import click

from ..cli.genetics import (output_type_option, regions_options, samples_options,
                            selections, write_index)
from ..cli.options import (DefaultRunGroup, resolve_seed, run_record_option, seed_option,
                           set_threads, threads_option)
from ..core.progress import progress_bar, step
from ..core.runtime import command_line
from ..errors import UserInputError
from .candidates import SEARCHES
from .imputation import COHORT_MODELS
from .reference import ReferenceImputer
from .reference_panel import SUFFIX

PANEL = ReferenceImputer.default_params()
COPYING = COHORT_MODELS["copying"].default_params()
CLUSTERS = COHORT_MODELS["clusters"].default_params()
#: the option that sets each estimator parameter
FLAGS = {"per_window": "--states", "phase_states": "--phase-states",
         "impute_states": "--impute-states", "search": "--search", "rounds": "--rounds", "phasings": "--phasings",
         "n_clusters": "-k/--clusters", "n_init": "--n-init", "max_iter": "--max-iter"}


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
    emapps impute convert PANEL.vcf.gz -o PANEL.emref          (a compact panel)
    emapps impute mask INPUT -o MASKED.vcf.gz --design array|random
    emapps impute score IMPUTED --truth TRUTH --masked MASKED [--ref PANEL]
    """


@impute.command()
@click.argument("target")
@click.option("--ref", "panel_path", default=None,
              help="Phased reference panel (VCF/BCF, no missing alleles, or the compact "
                   "file of 'emapps impute convert'); without one, "
                   "cohort mode fills the target's missing calls.")
@click.option("-o", "--output", required=True,
              help="Output VCF/BCF; '-' for stdout.")
@output_type_option
@regions_options
@samples_options
@click.option("--map", "map_path", default=None,
              help="Genetic map: PLINK (chrom id cM bp, as Beagle reads) or SHAPEIT (pos chr "
                   "cM); default 1 cM/Mb.")
@click.option("--sex", "sex_path", default=None,
              help="Panel mode: sample and sex per line (1/M/male, 2/F/female, 0/NA "
                   "unknown); males are imputed haploid where the panel's males are "
                   "(chromosome X outside the PARs). Without it, each sample's ploidy "
                   "comes from its calls.")
@click.option("--states", "per_window", type=int, default=None,
              help=f"Haplotypes kept per window of markers and haplotype for phasing "
                   f"(default: panel mode 16 up to 10,000 panel haplotypes, growing to 64 "
                   f"at 100,000; cohort mode {COPYING['per_window']}).")
@click.option("--phase-states", type=int, default=None,
              help=f"Panel mode: phase moves run over this many composite haplotypes per "
                   f"sample, drawn from the panel and the other targets; a larger panel is "
                   f"reduced to this many for fitting too (default {PANEL['phase_states']}).")
@click.option("--impute-states", type=int, default=None,
              help=f"Panel mode: the same for imputing (default {PANEL['impute_states']}).")
@click.option("--search", type=click.Choice(SEARCHES), default=None,
              help="Panel mode: find each sample's candidate haplotypes from the panel's "
                   "index (distinct patterns per window and the positional BWT: the time "
                   "barely grows with the panel) or by scoring every panel haplotype "
                   "(scan: the reference, slow past a few thousand haplotypes; default "
                   "index).")
@click.option("--cohort-model", type=click.Choice(list(COHORT_MODELS)), default="copying",
              show_default=True,
              help="Cohort mode: copying (the other samples' haplotypes as the panel) or "
                   "clusters (fastPHASE haplotype clusters by EM).")
@click.option("--rounds", type=int, default=None,
              help=f"Cohort mode, copying: Viterbi phasing rounds over the cohort (default "
                   f"{COPYING['rounds']}; {COPYING['refine_rounds']} refinement rounds "
                   f"follow).")
@click.option("--phasings", type=int, default=None,
              help=f"Cohort mode, copying: independent phasings whose genotype "
                   f"probabilities are averaged (default {COPYING['phasings']}; each adds "
                   f"about 75% of a one-phasing run's time).")
@click.option("-k", "--clusters", "n_clusters", type=int, default=None,
              help=f"Cohort mode, clusters: haplotype clusters (default "
                   f"{CLUSTERS['n_clusters']}).")
@click.option("--n-init", "--starts", "n_init", type=int, default=None,
              help=f"Cohort mode, clusters: seeded EM fits whose imputations are averaged "
                   f"(default {CLUSTERS['n_init']}).")
@click.option("--max-iter", type=int, default=None,
              help=f"EM iterations (panel mode: in the first round, one fewer after it; "
                   f"default {PANEL['max_iter']} panel, {CLUSTERS['max_iter']} clusters).")
@click.option("--json", "record_path", default=None, help="Write the run record here.")
@write_index
@seed_option
@threads_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def run(target, panel_path, output, output_type, regions, regions_file, samples, samples_file,
        map_path, sex_path, per_window, phase_states, impute_states, search, cohort_model, rounds, phasings,
        n_clusters, n_init, max_iter, record_path, index, seed, threads, quiet):
    """Impute (and phase) TARGET from a reference panel, or fill its missing calls from
    the cohort itself; write GT, DS, GP, AF, DR2 (and IMP for untyped panel sites).

    TARGET: VCF/BCF ('-' for stdin), unphased or phased, with missing calls allowed.
    Panel mode writes every panel site of the region; target sites the panel lacks, or
    with other REF/ALT alleles, are dropped and counted on stderr.  Cohort mode writes
    TARGET's biallelic sites, its calls kept (phased by the copying model) and the
    missing ones filled.  Settings that do not apply to the mode are refused."""
    from .._version import __version__
    from ..core.record import RECORD_KEYS, run_record
    from ..io.outputs import check_outputs, write_json
    from .imputation import NotASettingError
    from .imputation import impute as impute_calls
    from .io import read_calls, read_genetic_map
    from .vcf_output import index_kind, index_paths, write_imputed
    from .vcf_output import output_type as resolve_type
    from .ploidy import read_sex_file
    from .reference_panel import read_panel

    mode = resolve_type(output, output_type)
    index_kind(index, output, mode)
    check_outputs([output, record_path, *index_paths(output)],
                  inputs=[target, panel_path, map_path, regions_file, samples_file, sex_path])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    sex = read_sex_file(sex_path) if sex_path else None
    given = {name: value for name, value in (
        ("per_window", per_window), ("phase_states", phase_states),
        ("impute_states", impute_states), ("search", search), ("rounds", rounds), ("phasings", phasings),
        ("n_clusters", n_clusters), ("n_init", n_init), ("max_iter", max_iter))
        if value is not None}
    set_threads(threads)
    seed = resolve_seed(seed)
    n_threads = threads or 1
    started = time.perf_counter()
    # multi-allelic records are split for the haplotype models and joined in the output;
    # the cluster model (genotype probabilities only) skips and counts them
    target_calls = read_calls(target, region=region, samples=sample_selection,
                              threads=n_threads,
                              split=bool(panel_path) or cohort_model == "copying")
    genetic_map = read_genetic_map(map_path) if map_path else None
    panel = (read_panel(panel_path, region=region, threads=n_threads) if panel_path
             else None)
    timings = {"read": time.perf_counter() - started}
    try:
        with progress_bar("step", quiet=quiet) as bar:
            done = impute_calls(target_calls, panel, cohort_model=cohort_model,
                                genetic_map=genetic_map, random_state=seed,
                                progress=step(bar), sex=sex, **given)
    except NotASettingError as error:
        flags = ", ".join(FLAGS[name] for name in error.names)
        raise UserInputError(f"{flags}: not used in {error.mode} "
                             f"{'mode' if error.mode == 'panel' else 'cohort mode'}") from None
    result = done.result
    timings["fit_and_impute"] = time.perf_counter() - started - sum(timings.values())
    write_imputed(output, result, target_calls, mode=mode, command=_command(),
                  version=__version__, threads=n_threads, index=index)
    timings["write"] = time.perf_counter() - started - sum(timings.values())
    timings["total"] = time.perf_counter() - started
    warnings = [f"{value} {key.replace('_', ' ')}" for key, value in done.dropped.items()]
    if done.mode == "clusters":
        unconverged = done.estimator.converged_.count(False)
        if unconverged:
            click.echo(f"emapps impute: warning: {unconverged} of {len(done.estimator.n_iter_)} "
                       f"cluster-model starts did not converge in {done.estimator.max_iter} "
                       f"iterations (raise --max-iter)", err=True)
    if record_path:
        own = {key: value for key, value in result.record.items() if key not in RECORD_KEYS}
        write_json(record_path, run_record(
            settings={**{name: value for name, value in done.estimator._settings().items()
                         if name != "genetic_map"},   # the map's path is recorded instead
                      "mode": done.mode, "map": map_path, "sex": sex_path,
                      "regions": region,
                      "samples": samples or samples_file, "threads": n_threads},
            seed=None if panel else seed, **done.fit_fields(),
            timings={**result.record.get("timings", {}), **timings}, warnings=warnings,
            target=target_calls.source, panel=panel_path, output=output,
            samples=len(result.samples), **own))
    if not quiet:
        click.echo(f"emapps impute: {done.summary()}" + ("" if panel else f"; seed {seed}")
                   + (f"; target sites dropped: {', '.join(warnings)}" if warnings else "")
                   + (f"; wrote {output}" if output != "-" else ""), err=True)
    return 0


@impute.command()
@run_record_option
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True,
              help="Masked VCF/BCF ('-' for stdout).")
@output_type_option
@click.option("--design", type=click.Choice(["array", "random"]), required=True,
              help="array: keep every --every-th site; random: hide calls at --rate.")
@click.option("--every", default=10, show_default=True, help="array: keep 1 site in this many.")
@click.option("--offset", default=0, show_default=True, help="array: which one (0-based).")
@click.option("--rate", default=0.05, show_default=True, help="random: share of calls hidden.")
@regions_options
@samples_options
@write_index
@seed_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def mask(input_path, output, output_type, design, every, offset, rate, regions, regions_file,
         samples, samples_file, index, seed, quiet):
    """Mask genotypes of INPUT for an imputation experiment: the output holds unphased GT
    only; INPUT itself is the truth for `emapps impute score`."""
    from .._version import __version__
    from ..io.outputs import check_outputs
    from .evaluate import mask_array, mask_random, unphased_vcf
    from .io import read_calls
    from .vcf_output import index_kind, index_paths, write_vcf_text
    from .vcf_output import output_type as resolve_type

    mode = resolve_type(output, output_type)
    index_kind(index, output, mode)
    check_outputs([output, *index_paths(output)],
                  inputs=[input_path, regions_file, samples_file])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    calls = read_calls(input_path, region=region, samples=sample_selection)
    if design == "array":
        masked = mask_array(calls, every, offset)
        summary = f"kept {masked.n_sites} of {calls.n_sites} sites (1 in {every})"
    else:
        seed = resolve_seed(seed)
        masked, hidden = mask_random(calls, rate, seed)
        summary = f"hid {hidden} calls (rate {rate:g}, seed {seed})"
    command = _command()
    header, lines = unphased_vcf(masked, command, __version__)
    write_vcf_text(output, header, lines, mode=mode, index=index)
    if not quiet:
        click.echo(f"emapps impute mask: {summary}; {len(calls.samples)} samples", err=True)
    return {"seed": seed if design == "random" else None, "summary": summary,
            "samples": len(calls.samples), "sites": int(masked.n_sites)}


@impute.command()
@run_record_option
@click.argument("panel_path", metavar="PANEL")
@click.option("-o", "--output", required=True,
              help=f"The compact panel to write (name it PANEL{SUFFIX}).")
@regions_options
@threads_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def convert(panel_path, output, regions, regions_file, threads, quiet):
    """Write a phased reference PANEL (VCF/BCF) as one compact file that --ref reads
    fast: its haplotypes as blocks of distinct allele sequences (one byte per haplotype
    and block), memory-mapped and checked against checksums when read."""
    from ..io.selection import parse_regions
    from .reference_panel import read_panel, save_panel

    region = parse_regions(regions, regions_file)
    set_threads(threads)
    started = time.perf_counter()
    panel = read_panel(panel_path, region=region, threads=threads or 1)
    size = save_panel(panel, output)
    seconds = time.perf_counter() - started
    if not quiet:
        click.echo(f"emapps impute convert: {panel.n_sites} sites, {panel.n_haplotypes} "
                   f"haplotypes in {panel.blocks.bounds.shape[0] - 1} blocks; wrote "
                   f"{output} ({size / 2 ** 20:.1f} MiB) in {seconds:.1f} s", err=True)
    return {"output": output, "sites": panel.n_sites, "haplotypes": panel.n_haplotypes,
            "blocks": panel.blocks.bounds.shape[0] - 1, "bytes": size,
            "skipped_panel_records": panel.skipped}


@impute.command()
@run_record_option
@click.argument("chunks", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Ligated VCF/BCF ('-' for stdout).")
@output_type_option
@write_index
@threads_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def ligate(chunks, output, output_type, index, threads, quiet):
    """Join overlapping imputed CHUNKS of one chromosome into one file: at each overlap the
    later chunk's haplotypes are swapped per sample to agree with the earlier chunk's
    phase, and the records switch chunk in the middle of the overlap."""
    from ..io.outputs import check_outputs
    from .vcf_output import index_kind, index_paths
    from .vcf_output import output_type as resolve_type
    from .ligate import ligate as join_chunks

    if "-" in chunks:
        raise UserInputError("ligate reads each chunk twice: give files, not '-'")
    mode = resolve_type(output, output_type)
    index_kind(index, output, mode)
    check_outputs([output, *index_paths(output)], inputs=chunks)
    command = _command()
    set_threads(threads)
    summary = join_chunks(list(chunks), output, mode=mode, threads=threads or 1,
                          index=index, command=command)
    if not quiet:
        for junction in summary["junctions"]:
            click.echo(f"emapps impute ligate: {junction['after']} | {junction['before']}: "
                       f"{junction['overlap']} shared records, cut after "
                       f"{junction['cut']}, {junction['swapped']} samples swapped", err=True)
    return {"junctions": summary["junctions"], "output": output}


@impute.command()
@click.argument("imputed")
@click.option("--truth", required=True, help="The unmasked calls (VCF/BCF).")
@click.option("--masked", required=True,
              help="The masked input given to the imputation.")
@click.option("--ref", "panel_path", default=None,
              help="Reference panel: MAF bins from it (else from the truth).")
@regions_options
@samples_options
@click.option("--json", "record_path", default=None,
              help="Write the run record, scores included, here ('-': on stdout instead "
                   "of the table).")
def score(imputed, truth, masked, panel_path, regions, regions_file, samples, samples_file,
          record_path):
    """Score IMPUTED on the entries hidden in MASKED: coverage, concordance, non-reference
    concordance, mean per-site and pooled dosage r2 by MAF bin, and the correlation of
    DR2 with the true per-site r2."""
    from ..core.record import run_record
    from ..io.outputs import check_outputs, write_json
    from .evaluate import score as score_imputation
    from .io import read_calls
    from .reference_panel import read_panel

    check_outputs([record_path], inputs=[imputed, truth, masked, panel_path, regions_file,
                                         samples_file])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    started = time.perf_counter()
    truth_calls = read_calls(truth, region=region, samples=sample_selection)
    masked_calls = read_calls(masked, region=region)
    reference = read_panel(panel_path, region=region) if panel_path else None
    table = score_imputation(imputed, truth_calls, masked_calls, reference)
    if record_path:
        write_json(record_path, run_record(
            settings={"regions": region, "samples": samples or samples_file,
                      "maf_from": "panel" if panel_path else "truth"},
            seed=None, log_likelihood=None, trace=[], n_iter=None, converged=None,
            timings={"total": time.perf_counter() - started}, imputed=imputed, truth=truth,
            masked=masked, panel=panel_path, scores=table))
        if record_path == "-":
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
