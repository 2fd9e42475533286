"""``emapps lca``: latent class analysis of categorical answers from the shell."""

import click

from ..cli.options import (model_output_option, parse_int_range, record_option, resolve_seed,
                           run_record_option, seed_option, set_threads, threads_option)
from ..core.progress import progress_bar, step
from .estimator import LatentClassModel
from .selection import CRITERIA

DEFAULTS = LatentClassModel.default_params()


@click.group()
def lca():
    """Latent class models of categorical answers (CSV/TSV with a header row)."""


@lca.command()
@click.argument("data")
@click.option("--items", default=None,
              help="Comma-separated categorical columns (default: all columns not given as "
                   "--continuous or --counts).")
@click.option("--continuous", default=None,
              help="Comma-separated columns of measurements (Gaussian within a class).")
@click.option("--counts", default=None,
              help="Comma-separated columns of counts (Poisson within a class).")
@click.option("--covariates", default=None,
              help="Comma-separated numeric columns that predict class membership (latent "
                   "class regression); respondents must have them all.")
@click.option("-k", "--classes", "components", default="1..6", show_default=True,
              help="Number of classes: 3, a range 1..6 or a list 2,3,5.")
@click.option("--criterion", type=click.Choice(CRITERIA), default="bic", show_default=True,
              help="How the number of classes is chosen (lower is better).")
@click.option("--n-init", "--starts", "n_init", default=DEFAULTS["n_init"], show_default=True,
              help="Seeded random starts per K; the best is kept (the table counts how many "
                   "reached it).")
@click.option("--final", "n_final", type=int, default=DEFAULTS["n_final"],
              help="Run every start --screen-iter iterations, then only this many of the "
                   "best on to convergence (Mplus's STARTS = n-init final); default: all.")
@click.option("--screen-iter", default=DEFAULTS["screen_iter"], show_default=True,
              help="Iterations of each start before the --final ones are chosen.")
@click.option("--max-iter", default=DEFAULTS["max_iter"], show_default=True)
@click.option("--tol", default=DEFAULTS["tol"], show_default=True,
              help="Stop when the log-likelihood changes by less, relative to its value.")
@click.option("--se", "with_se", is_flag=True, default=False,
              help="Standard errors of the chosen model (observed information).")
@click.option("--bootstrap", "n_boot", default=0, show_default=True,
              help="Bootstrap replicates for standard errors of the chosen model (shown "
                   "instead of --se's; 0 = none).")
@seed_option
@threads_option
@model_output_option
@record_option
@click.option("--plot", default=None,
              help="Folder for profiles.png (the chosen model's answer profile per class) "
                   "and criteria.png (criteria against K); needs matplotlib.")
@click.option("-q", "--quiet", is_flag=True, default=False, help="No progress on stderr.")
def fit(data, items, continuous, counts, covariates, components, criterion, n_init, n_final,
        screen_iter, max_iter, tol, with_se, n_boot, seed, threads, output, record, plot,
        quiet):
    """Fit latent class models for every K; print the table, the chosen K, its class
    shares and each item's answer probabilities per class."""
    from ..errors import UserInputError
    from ..io.outputs import check_outputs, write_json
    from .io import read_answers, save_model
    from .selection import select_classes

    ks = parse_int_range(components, "-k")
    if output == "-":
        raise UserInputError("-o: a model is a file (.npz), not stdout")
    LatentClassModel(n_init=n_init, n_final=n_final, screen_iter=screen_iter,
                     max_iter=max_iter, tol=tol).check_settings()   # before any reading
    if n_boot and n_boot < 2:
        raise UserInputError(f"--bootstrap needs at least 2 replicates; got {n_boot}")
    pictures = [f"{plot}/profiles.png", f"{plot}/criteria.png"] if plot else []
    check_outputs([output, record, *pictures], inputs=[data])
    set_threads(threads)
    measured, counted = _names(continuous) or [], _names(counts) or []
    explaining = _names(covariates) or []
    others = measured + counted + explaining
    chosen = _names(items)
    if chosen is not None:
        chosen = chosen + others
    columns, names = read_answers(data, chosen)
    if chosen is None:   # all columns: the measurements, counts and covariates among them
        columns, names = read_answers(data, [name for name in names if name not in others]
                                      + others)
    X = _as_matrix(columns)
    seed = resolve_seed(seed)
    if not quiet:
        click.echo(f"emapps lca: {X.shape[0]} respondents x {X.shape[1]} items, K in {ks}, "
                   f"{n_init} starts each, seed {seed}", err=True)
    with progress_bar("K", total=len(ks), quiet=quiet) as bar:
        selection = select_classes(X, ks, criterion, item_names=names, continuous=measured,
                                   counts=counted, covariates=explaining, n_init=n_init,
                                   n_final=n_final, screen_iter=screen_iter,
                                   max_iter=max_iter, tol=tol, random_state=seed,
                                   progress=step(bar))
    for row in selection.rows:
        if not row["converged"]:
            click.echo(f"emapps lca: warning: K={row['k']} did not converge in {max_iter} "
                       f"iterations (raise --max-iter or --tol)", err=True)
    best = selection.best
    errors = best.standard_errors(X) if with_se else None
    resampled = best.bootstrap(X, n_boot, random_state=seed) if n_boot else None
    click.echo(format_table(selection.rows))
    click.echo(f"chosen: K={best.n_components} ({criterion.upper()} "
               f"{selection.best_row[criterion]:.4f})")
    click.echo(format_profiles(best, resampled or errors))
    if output:
        save_model(output, best, {"data": data, "criterion": criterion})
    if plot:
        from .plots import plot_criteria, plot_profiles
        if best.item_names_:
            plot_profiles(best, pictures[0])
        plot_criteria(selection.rows, pictures[1])
    if record:
        extra = {key: value for key, value in (("standard_errors", errors),
                                               ("bootstrap", resampled)) if value is not None}
        write_json(record, best.run_record(
            data=data, items=best.item_names_, continuous=measured, counts=counted,
            covariates=explaining, coefficients=best.coefficients_,
            selection=selection.rows, chosen_k=best.n_components, weights=best.weights_,
            probabilities=best.probabilities_, means=best.means_, variances=best.variances_,
            rates=best.rates_, categories=[values.tolist() for values in best.categories_],
            **extra))


def _names(items):
    return None if items is None else [name.strip() for name in items.split(",")]


def _as_matrix(columns):
    import numpy as np

    if all(column.dtype.kind == "f" for column in columns):
        return np.column_stack(columns)
    matrix = np.empty((columns[0].shape[0], len(columns)), dtype=object)
    for j, column in enumerate(columns):
        matrix[:, j] = [None if value is None or (isinstance(value, float) and value != value)
                        else value for value in column.tolist()]
    return matrix


def format_table(rows) -> str:
    lines = [f"{'K':>3} {'loglik':>14} {'params':>6} {'BIC':>12} {'AIC':>12} {'CAIC':>12} "
             f"{'aBIC':>12} {'entropyR2':>9} {'at best':>8} {'iter':>5} converged"]
    for row in rows:
        lines.append(f"{row['k']:>3} {row['log_likelihood']:>14.4f} {row['parameters']:>6} "
                     f"{row['bic']:>12.4f} {row['aic']:>12.4f} {row['caic']:>12.4f} "
                     f"{row['abic']:>12.4f} {row['entropy_r2']:>9.4f} "
                     f"{row['starts_at_best']:>3}/{row['starts']:<4} {row['n_iter']:>5} "
                     f"{row['converged']}")
    return "\n".join(lines)


def format_profiles(model, errors=None) -> str:
    """Class shares, then item / answer / probability per class (tab-separated, with
    standard errors in brackets when given), then each measurement's mean and standard
    deviation, each count's rate and each covariate's logit coefficient per class (class
    1 the reference)."""
    import numpy as np

    K = model.n_components

    def cell(value, se):
        return f"{value:.4f}" if se is None else f"{value:.4f} ({se:.4f})"

    header = "\t".join(["item", "answer", *[f"class{k + 1}" for k in range(K)]])
    lines = ["\t".join(["share", "", *[cell(model.weights_[k], None if errors is None
                                            else _at(errors["weights"], k)) for k in range(K)]])]
    for j, name in enumerate(model.item_names_):
        for c, answer in enumerate(model.categories_[j]):
            label = f"{answer:g}" if isinstance(answer, float) else str(answer)
            lines.append("\t".join([name, label, *[cell(
                model.probabilities_[j][k, c],
                None if errors is None else errors["probabilities"][j][k, c])
                for k in range(K)]]))
    for d, name in enumerate(model.continuous_names_):
        lines.append("\t".join([name, "mean", *[f"{value:.4g}" for value in model.means_[:, d]]]))
        lines.append("\t".join([name, "sd", *[f"{value:.4g}" for value in
                                              np.sqrt(model.variances_[:, d])]]))
    for p, name in enumerate(model.count_names_):
        lines.append("\t".join([name, "rate", *[f"{value:.4g}" for value in model.rates_[:, p]]]))
    for q, name in enumerate(["(intercept)", *model.covariate_names_]
                             if model.covariate_names_ else []):
        lines.append("\t".join([name, "logit", *[
            f"{value:.4g}" if errors is None else f"{value:.4g} ({se:.4g})"
            for value, se in zip(model.coefficients_[q], np.zeros(K) if errors is None
                                 else errors["coefficients"][q])]]))
    return "\n".join([header, *lines])


def _at(values, index):
    """values[index], or None where there are no values (shares with covariates)."""
    return None if values is None else values[index]


@lca.command()
@run_record_option
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("-o", "--output", default="-", show_default=True,
              help="TSV output ('-' = stdout).")
@threads_option
def predict(model_path, data, output, threads):
    """Posterior class membership, modal class and log-likelihood per respondent of
    DATA (the model's items by name); ``row`` numbers the data rows from 1."""
    import numpy as np

    from ..io.tables import write_table
    from .io import load_model, read_answers

    set_threads(threads)
    model, meta = load_model(model_path)
    columns, _ = read_answers(data, model.item_names_ + model.continuous_names_
                              + model.count_names_ + model.covariate_names_)
    X = _as_matrix(columns)
    proba, log_density = model.posteriors(X)
    K = model.n_components
    header = ["row", "class"] + [f"prob_{k + 1}" for k in range(K)] + ["log_likelihood"]
    write_table(output, header, [np.arange(1, X.shape[0] + 1), proba.argmax(axis=1) + 1,
                                 *proba.T, log_density], ["%d", "%d"] + ["%.6g"] * K + ["%.10g"])
    return {"rows": int(X.shape[0]), "classes": K, "output": output}
