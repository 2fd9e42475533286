"""``emapps admix``: ancestry proportions by EM (ADMIXTURE's model and output files);
``project`` estimates them for new individuals with the frequencies fixed."""

import os
import time
from pathlib import Path

import click

from ..cli.genetics import regions_options, samples_options, selections
from ..cli.options import (DefaultRunGroup, parse_int_range, resolve_seed, seed_option,
                           set_threads, threads_option)
from ..core.progress import progress_bar, step
from ..errors import UserInputError
from .estimator import Admixture

DEFAULTS = Admixture.default_params()


def _prefix_of(input_path) -> str:
    """ADMIXTURE's default output prefix: the input's name without its extension."""
    name = Path(str(input_path)).name
    for suffix in (".bed", ".vcf.gz", ".vcf.bgz", ".vcf", ".bcf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _matrix_text(matrix, digits=6) -> str:
    return "".join(" ".join(f"{value:.{digits}f}" for value in row) + "\n" for row in matrix)


def _commit(texts: dict, record_path: str, record: dict) -> None:
    """The run's files as one set, its record (with every file's SHA-256) renamed last."""
    import json

    from ..io.outputs import commit_files, plain
    commit_files(texts, manifest=(record_path, lambda digests: json.dumps(
        {**record, "digests": digests}, indent=2, default=plain) + "\n"))


@click.group(cls=DefaultRunGroup)
def admix():
    """Ancestry proportions (ADMIXTURE's model) fitted by EM.

    \b
    emapps admix INPUT -k 3 [-o PREFIX]             (same as: emapps admix run)
    emapps admix INPUT -k 2..8 --cv 5 --plot        (choose K by cross-validation)
    emapps admix project NEW --freqs PREFIX.3.P -o NEW_PREFIX
    """


@admix.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-k", "--components", "k_text", required=True,
              help="K, a range (2..8) or a list (2,4,6).")
@click.option("-o", "--out", "prefix", default=None,
              help="Output prefix: PREFIX.K.Q, PREFIX.K.P (and .Q_se), PREFIX.snps.tsv, "
                   "PREFIX.json (default: INPUT's name, in the current folder).")
@regions_options
@samples_options
@click.option("--cv", "n_folds", type=int, default=None,
              help="F-fold cross-validation error per K (ADMIXTURE's --cv; 5 is usual).")
@click.option("--bootstrap", "n_replicates", type=int, default=None,
              help="Standard errors of Q from this many SNP-block bootstrap replicates "
                   "(PREFIX.K.Q_se).")
@click.option("--supervised", "supervised_path", default=None,
              help="Population labels (.pop: one per individual, '-' unknown; or "
                   "'fid iid population' lines): labelled individuals' ancestry is fixed.")
@click.option("--populations", "populations_path", default=None,
              help="Population labels for the plot (same formats).")
@click.option("--plot", is_flag=True, default=False,
              help="PREFIX.K.png (stacked bars) and, with --cv, PREFIX.cv.png.")
@click.option("--n-init", "--starts", "n_init", type=int, default=DEFAULTS["n_init"],
              show_default=True,
              help="Seeded EM starts per K; the best is kept.")
@click.option("--init", type=click.Choice(["pca", "random"]), default=DEFAULTS["init"],
              show_default=True,
              help="Starting Q: k-means clusters of principal components (reaches the "
                   "maximum sooner when K is at most the populations present) or a flat "
                   "Dirichlet draw (better for a K past them).")
@click.option("--tol", type=float, default=DEFAULTS["tol"], show_default=True,
              help="Stop when the log-likelihood's relative change falls below this.")
@click.option("--max-iter", type=int, default=DEFAULTS["max_iter"], show_default=True)
@click.option("--json", "record_path", default=None,
              help="Also write the run record here (it is always written to PREFIX.json).")
@seed_option
@threads_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def run(input_path, k_text, prefix, regions, regions_file, samples, samples_file, n_folds,
        n_replicates, supervised_path, populations_path, plot, n_init, init, tol, max_iter,
        record_path, seed, threads, quiet):
    """Estimate ancestry proportions Q and population allele frequencies F of INPUT: a
    PLINK 1 fileset (prefix or .bed) or a VCF/BCF (GT calls; A1 = ALT).  Writes
    ADMIXTURE's files: PREFIX.K.Q (one line per individual, K proportions) and
    PREFIX.K.P (one line per SNP, the A1 frequency in each population)."""
    from ..core.record import run_record
    from ..io.outputs import check_outputs, write_json
    from .genotypes import fileset_paths, read_genotypes
    from .supervised import read_labels, supervised_components

    ks = parse_int_range(k_text, "-k")
    for value in (n_folds, n_replicates):
        if value is not None and value < 2:
            raise UserInputError(f"--cv and --bootstrap take at least 2; got {value}")
    prefix = prefix or _prefix_of(input_path)
    if prefix == "-" or prefix.endswith(("/", os.sep)) or Path(prefix).is_dir():
        raise UserInputError(f"-o takes a prefix for several files (PREFIX.K.Q, ...), not "
                             f"{'stdout' if prefix == '-' else 'a folder'}")
    outputs = {"json": f"{prefix}.json", "snps": f"{prefix}.snps.tsv"}
    for k in ks:
        outputs[f"{k}.Q"], outputs[f"{k}.P"] = f"{prefix}.{k}.Q", f"{prefix}.{k}.P"
        if n_replicates:
            outputs[f"{k}.Q_se"] = f"{prefix}.{k}.Q_se"
    pictures = ([f"{prefix}.{k}.png" for k in ks] + ([f"{prefix}.cv.png"] if n_folds else [])
                if plot else [])
    plink_inputs = [str(path) for path in fileset_paths(input_path)]
    check_outputs([*outputs.values(), *pictures, record_path],
                  inputs=[input_path, *plink_inputs, regions_file, samples_file,
                          supervised_path, populations_path])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    set_threads(threads)
    seed = resolve_seed(seed)
    started = time.perf_counter()
    genotypes = read_genotypes(input_path, region=region, samples=sample_selection,
                               threads=threads or 1)
    timings = {"read": time.perf_counter() - started}
    supervised = names = None
    if supervised_path:
        labels = read_labels(supervised_path, genotypes.iid)
    population_labels = read_labels(populations_path, genotypes.iid) \
        if populations_path else None
    rows, texts, fits, warnings = [], {}, {}, []
    with progress_bar("iteration", quiet=quiet) as bar:
        for k in ks:
            if supervised_path:
                supervised, names = supervised_components(labels, k)
            fit_started = time.perf_counter()
            model = Admixture(k, n_init=n_init, max_iter=max_iter, tol=tol, init=init,
                              random_state=seed).fit(genotypes, populations=supervised,
                                                     progress=step(bar))
            row = {"k": k, "log_likelihood": model.log_likelihood_, "n_iter": model.n_iter_,
                   "converged": model.converged_, **model.information_criteria(),
                   "parameters": model.n_parameters_}
            if not model.converged_:
                warnings.append(f"K={k}: not converged in {max_iter} iterations")
            if n_folds:
                row["cv_error"], row["cv_standard_error"] = model.cross_validation_error(
                    n_folds, key=seed)
                click.echo(f"CV error (K={k}): {row['cv_error']:.5f}")   # stdout, as ADMIXTURE
            texts[outputs[f"{k}.Q"]] = _matrix_text(model.Q_)
            texts[outputs[f"{k}.P"]] = _matrix_text(model.F_)
            if n_replicates:
                texts[outputs[f"{k}.Q_se"]] = _matrix_text(
                    model.bootstrap_standard_errors(n_replicates, random_state=seed))
            row["seconds"] = time.perf_counter() - fit_started
            rows.append(row)
            fits[k] = model
            if model.dropped_ and k == ks[0]:
                warnings.append("left out of the fit: " + ", ".join(
                    f"{value} {key.replace('_', ' ')}" for key, value in model.dropped_.items()))
    timings["fit"] = time.perf_counter() - started - timings["read"]
    criterion = "cv_error" if n_folds else "bic"
    chosen = min(rows, key=lambda row: row[criterion])["k"]
    texts[outputs["snps"]] = "id\tchrom\tpos\ta1\ta2\n" + "".join(
        f"{i}\t{c}\t{p}\t{a}\t{b}\n" for i, c, p, a, b in zip(
            genotypes.snp_ids, genotypes.chrom, genotypes.pos, genotypes.a1, genotypes.a2))
    best = fits[chosen]
    timings["total"] = time.perf_counter() - started
    record = run_record(
        settings={"k": ks, "cv": n_folds, "bootstrap": n_replicates, "starts": n_init,
                  "init": init,
                  "tol": tol, "max_iter": max_iter, "supervised": supervised_path,
                  "regions": region, "samples": samples or samples_file,
                  "threads": threads},
        seed=seed, log_likelihood=best.log_likelihood_, trace=best.trace_,
        n_iter=best.n_iter_, converged=best.converged_, timings=timings,
        warnings=warnings, input=genotypes.source, individuals=genotypes.n_samples,
        snps=genotypes.n_snps, skipped_records=genotypes.skipped, dropped=best.dropped_,
        components=names, chosen_k=chosen, chosen_by=criterion, table=rows,
        outputs=sorted(texts))
    _commit(texts, outputs["json"], record)
    if record_path:
        write_json(record_path, record)
    if plot:
        from .plots import plot_cross_validation, plot_proportions
        for k in ks:
            plot_proportions(fits[k].Q_, f"{prefix}.{k}.png", population_labels,
                             names if supervised_path else None)
        if n_folds:
            plot_cross_validation(rows, f"{prefix}.cv.png")
    if not quiet:
        table = "\n".join(
            f"  K={row['k']}: log-likelihood {row['log_likelihood']:.1f}, BIC "
            f"{row['bic']:.1f}" + (f", CV error {row['cv_error']:.5f}" if n_folds else "")
            + f", {row['n_iter']} iterations, {row['seconds']:.1f} s" for row in rows)
        click.echo(f"emapps admix: {genotypes.n_samples} individuals x {genotypes.n_snps} "
                   f"SNPs; seed {seed}\n{table}\n  best K by {criterion}: {chosen}; wrote "
                   f"{prefix}.K.Q/.P and {prefix}.json" + "".join(
                       f"\n  warning: {line}" for line in warnings), err=True)
    return 0


@admix.command()
@click.argument("input_path", metavar="NEW")
@click.option("--freqs", "freqs_path", required=True,
              help="PREFIX.K.P of an earlier run; its PREFIX.snps.tsv names the SNPs.")
@click.option("--snps", "snps_path", default=None,
              help="The SNP table of the run (default: PREFIX.snps.tsv beside --freqs).")
@click.option("-o", "--out", "prefix", required=True,
              help="Output prefix: PREFIX.K.Q and PREFIX.json.")
@regions_options
@samples_options
@click.option("--json", "record_path", default=None, help="Also write the run record here.")
@threads_option
@click.option("-q", "--quiet", is_flag=True, default=False)
def project(input_path, freqs_path, snps_path, prefix, regions, regions_file, samples,
            samples_file, record_path, threads, quiet):
    """Ancestry proportions of NEW individuals with the population frequencies of an
    earlier run fixed (ADMIXTURE's -P).  SNPs are matched by id and alleles: swapped
    alleles are flipped, strand-ambiguous (A/T, C/G) ones whose alleles disagree are left
    out and counted, as are SNPs missing from NEW."""
    from ..core.record import run_record
    from ..io.outputs import check_outputs, write_json
    from .estimator import project as project_q
    from .genotypes import fileset_paths, read_genotypes
    from .projection import matched_frequencies, read_frequencies

    freqs = Path(freqs_path)
    k_text = freqs.suffixes[-2][1:] if len(freqs.suffixes) >= 2 else ""
    snps_path = snps_path or str(freqs.with_suffix("").with_suffix("")) + ".snps.tsv"
    outputs = {"Q": f"{prefix}.{k_text or 'K'}.Q", "json": f"{prefix}.json"}
    check_outputs([*outputs.values(), record_path],
                  inputs=[input_path, *map(str, fileset_paths(input_path)), freqs_path,
                          snps_path, regions_file, samples_file])
    region, sample_selection = selections(regions, regions_file, samples, samples_file)
    set_threads(threads)
    started = time.perf_counter()
    frequencies, snp_table = read_frequencies(freqs_path, snps_path)
    genotypes = read_genotypes(input_path, region=region, samples=sample_selection,
                               threads=threads or 1)
    matched, F, counts = matched_frequencies(genotypes, frequencies, snp_table)
    Q = project_q(matched, F)
    record = run_record(settings={"freqs": freqs_path, "snps": snps_path, "regions": region,
                                  "samples": samples or samples_file, "threads": threads},
                        seed=None, log_likelihood=None, trace=[], n_iter=None,
                        converged=None,
                        timings={"total": time.perf_counter() - started}, warnings=[],
                        input=genotypes.source, individuals=genotypes.n_samples,
                        snps_matched=counts)
    _commit({outputs["Q"]: _matrix_text(Q)}, outputs["json"], record)
    if record_path:
        write_json(record_path, record)
    if not quiet:
        click.echo(f"emapps admix project: {genotypes.n_samples} individuals on "
                   f"{counts['used']} SNPs ({counts}); wrote {outputs['Q']}", err=True)
    return 0
