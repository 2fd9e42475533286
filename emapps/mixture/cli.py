"""``emapps mixture``: fit (with model selection), predict and impute from the shell."""

import click

from ..cli.options import (model_output_option, parse_choices, parse_int_range, record_option,
                           resolve_seed, run_record_option, seed_option, set_threads,
                           threads_option)
from ..core.progress import progress_bar, step
from .gaussian import GaussianMixture

COVARIANCES = ("full", "tied", "diag", "spherical")
#: the command's defaults are the estimator's
DEFAULTS = GaussianMixture.default_params()


@click.group()
def mixture():
    """Gaussian mixtures fitted by EM on CSV/TSV (header row) or .npy data."""


@mixture.command()
@click.argument("data")
@click.option("-k", "--components", default="1..9", show_default=True,
              help="Number of components: 3, a range 1..9 or a list 2,4,8.")
@click.option("--covariance", default="full", show_default=True,
              help="full, tied, diag, spherical, a comma list, or all.")
@click.option("--factors", default=None,
              help="Mixtures of factor analysers instead: q factors per component (3, a "
                   "range 1..3 or a list); the chosen one is saved as its full covariances.")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"]), default="bic",
              show_default=True, help="How the best model is chosen (lower is better).")
@click.option("--columns", default=None, help="Comma-separated columns to use (default: all).")
@click.option("--n-init", "--starts", "n_init", default=DEFAULTS["n_init"], show_default=True,
              help="Restarts per candidate.")
@click.option("--max-iter", default=DEFAULTS["max_iter"], show_default=True)
@click.option("--tol", default=DEFAULTS["tol"], show_default=True,
              help="Stop when the mean log-likelihood changes by less.")
@click.option("--reg-covar", default=DEFAULTS["reg_covar"], show_default=True,
              help="Added to covariance diagonals.")
@click.option("--init", "init_params", default=DEFAULTS["init_params"], show_default=True,
              type=click.Choice(["kmeans", "k-means++", "random", "random_from_data"]))
@click.option("--accelerate/--no-accelerate", default=DEFAULTS["accelerate"] == "squarem",
              show_default=True, help="SQUAREM acceleration.")
@seed_option
@threads_option
@model_output_option
@record_option
@click.option("--plot", default=None,
              help="Folder for trace and criterion PNGs (needs matplotlib).")
@click.option("--bootstrap", "n_boot", default=0, show_default=True,
              help="Bootstrap replicates for standard errors of the chosen model (0 = none).")
@click.option("-q", "--quiet", is_flag=True, default=False, help="No progress on stderr.")
@click.option("--dask", "scheduler", default=None, metavar="ADDRESS|local",
              help="Run the E-steps on a Dask cluster: a scheduler address, or 'local' for "
                   "a LocalCluster of --threads workers. DATA may then be a Zarr store or a "
                   ".npy file larger than memory.")
@click.option("--chunk-rows", default=1_000_000, show_default=True,
              help="With --dask: rows per block.")
def fit(data, components, covariance, factors, criterion, columns, n_init, max_iter, tol,
        reg_covar, init_params, accelerate, seed, threads, output, record, plot, n_boot, quiet,
        scheduler, chunk_rows):
    """Fit mixtures for every K and covariance type; print the table and the chosen model."""
    from contextlib import nullcontext

    from ..errors import UserInputError
    from ..io.outputs import check_outputs

    ks = parse_int_range(components, "-k")
    covariances = parse_choices(covariance, "--covariance", COVARIANCES)
    if factors is not None:
        covariances = [f"factors={q}" for q in parse_int_range(factors, "--factors")]
        if scheduler is not None or n_boot:
            raise UserInputError("--factors runs in memory, without --dask or --bootstrap")
    if output == "-":
        raise UserInputError("-o: a model is a file (.npz), not stdout")
    check_outputs([output, record, plot and f"{plot}/criterion.png",
                   plot and f"{plot}/trace.png"], inputs=[data])
    if scheduler is not None and n_boot:
        raise UserInputError("--bootstrap needs the data in memory; drop --dask")
    if chunk_rows < 1:
        raise UserInputError(f"--chunk-rows must be >= 1; got {chunk_rows}")
    set_threads(1 if scheduler == "local" else threads)
    if scheduler is None:
        X, names = _load(data, columns)
    else:
        X, names = _load_blocks(data, columns, chunk_rows)
    seed = resolve_seed(seed)
    if scheduler is not None:
        from ..em.dask import dask_client
    with nullcontext() if scheduler is None else dask_client(scheduler, threads or 2):
        _fit_and_report(X, names, data, ks, covariances, criterion, n_init, max_iter, tol,
                        reg_covar, init_params, accelerate, seed, output, record, plot, n_boot,
                        quiet)


def _fit_and_report(X, names, data, ks, covariances, criterion, n_init, max_iter, tol,
                    reg_covar, init_params, accelerate, seed, output, record, plot, n_boot,
                    quiet):
    from ..io.outputs import write_json
    from .io import save_model
    from .selection import select_model

    if not quiet:
        click.echo(f"emapps mixture: {X.shape[0]} rows x {X.shape[1]} columns, "
                   f"K in {ks}, covariance {covariances}, seed {seed}", err=True)
    acceleration = "squarem" if accelerate else None
    with progress_bar("model", total=len(ks) * len(covariances), quiet=quiet) as bar:
        if covariances[0].startswith("factors="):
            from ..factors.selection import select_factor_mixtures
            selection = select_factor_mixtures(
                X, ks, [int(name.split("=")[1]) for name in covariances], criterion,
                n_init=n_init, max_iter=max_iter, random_state=seed, accelerate=acceleration,
                progress=step(bar))
        else:
            selection = select_model(X, ks, covariances, criterion, n_init=n_init,
                                     max_iter=max_iter, tol=tol, reg_covar=reg_covar,
                                     init_params=init_params, random_state=seed,
                                     accelerate=acceleration, progress=step(bar))
    _warn_unconverged(selection, max_iter)
    click.echo(_format_table(selection))
    fitted = selection.best
    best = fitted if hasattr(fitted, "covariance_type") else fitted.as_gaussian_mixture()
    click.echo(f"chosen: K={best.n_components} covariance={selection.best_row['covariance']} "
               f"({criterion.upper()} {selection.best_row[criterion]:.4f})")
    errors = None
    if n_boot:
        errors = best.bootstrap(X, n_boot=n_boot, random_state=seed)
    click.echo(_format_components(best, names, errors))
    if output:
        save_model(output, best, names, {"criterion": criterion, "data": data})
    if record:
        extra = {}
        if errors is not None:
            extra["bootstrap"] = {"replicates": n_boot, "weights_se": errors.weights_se,
                                  "means_se": errors.means_se}
        write_json(record, fitted.run_record(data=data, columns=names,
                                             selection=selection.rows, **extra))
    if plot:
        from .plots import plot_selection
        plot_selection(selection, plot)


@mixture.command()
@run_record_option
@click.argument("model")
@click.argument("data")
@click.option("-o", "--output", default="-", show_default=True, help="TSV output ('-' = stdout).")
@threads_option
def predict(model, data, output, threads):
    """Labels, posterior probabilities and log-density (anomaly score) per row; ``row``
    numbers the data rows from 1, in the input's order."""
    import numpy as np

    from ..io.outputs import check_outputs
    from ..io.tables import write_table
    from .io import load_model

    check_outputs([output], inputs=[model, data])
    set_threads(threads)
    gm, meta = load_model(model)
    X, _ = _load(data, ",".join(meta["columns"]))
    proba = gm.predict_proba(X)
    log_density = gm.score_samples(X)
    K = proba.shape[1]
    header = ["row", "label"] + [f"prob_{k}" for k in range(K)] + ["log_density"]
    columns = ([np.arange(1, X.shape[0] + 1), proba.argmax(axis=1)]
               + [proba[:, k] for k in range(K)] + [log_density])
    write_table(output, header, columns, ["%d", "%d"] + ["%.6g"] * K + ["%.10g"])
    return {"rows": int(X.shape[0]), "components": K, "output": output}


@mixture.command()
@click.argument("data")
@click.option("-m", "--model", default=None,
              help="A model from 'mixture fit -o'; without one a model is fitted on DATA.")
@click.option("-k", "--components", default="1..5", show_default=True,
              help="When fitting: K, a range or a list (chosen by --criterion).")
@click.option("--covariance", default="full", show_default=True)
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"]), default="bic",
              show_default=True)
@click.option("--columns", default=None,
              help="When fitting: columns to model (others are copied unchanged).")
@seed_option
@threads_option
@click.option("-o", "--output", default="-", show_default=True,
              help="Filled table (.csv comma-separated, else tab; '-' = stdout).")
@click.option("--json", "--record", "record", default=None,
              help="Write the run record of the fit (JSON) here.")
@click.option("-q", "--quiet", is_flag=True, default=False, help="No progress on stderr.")
def impute(data, model, components, covariance, criterion, columns, seed, threads, output,
           record, quiet):
    """Fill missing entries (empty, NA, NaN) with conditional means E[x_miss | x_obs]."""
    import numpy as np

    from ..io.outputs import check_outputs, write_json
    from ..io.tables import read_table, write_table

    check_outputs([output, record], inputs=[data, model])
    set_threads(threads)
    table, all_names = read_table(data)
    if model:
        from .io import load_model
        gm, meta = load_model(model)
        columns = ",".join(meta["columns"])
    X, names = _select_columns(table, all_names, columns, data)
    if not model:
        from .selection import select_model
        seed = resolve_seed(seed)
        ks = parse_int_range(components, "-k")
        covariances = parse_choices(covariance, "--covariance", COVARIANCES)
        with progress_bar("model", total=len(ks) * len(covariances), quiet=quiet) as bar:
            selection = select_model(X, ks, covariances, criterion, random_state=seed,
                                     tol=1e-6, max_iter=1000, accelerate="squarem",
                                     progress=step(bar))
        _warn_unconverged(selection, 1000)
        gm = selection.best
        if not quiet:
            click.echo(f"emapps mixture impute: fitted K={gm.n_components} "
                       f"{gm.covariance_type} on {X.shape[0]} rows, seed {seed}", err=True)
        if record:
            write_json(record, gm.run_record(data=data, columns=names, selection=selection.rows))
    missing = int(np.isnan(X).sum())
    table[:, [all_names.index(name) for name in names]] = gm.impute(X)
    write_table(output, all_names, list(table.T), ["%.10g"] * len(all_names))
    if not quiet:
        click.echo(f"emapps mixture impute: filled {missing} missing values", err=True)


def _load(path, columns):
    from ..io.tables import read_table

    X, names = read_table(path)
    return _select_columns(X, names, columns, path)


def _load_blocks(path, columns, chunk_rows):
    """DATA as a Dask array of ``chunk_rows``-row blocks: a Zarr store or a .npy file,
    read block by block, or a table read into memory; columns x0, x1, ... unless named
    (as in memory)."""
    from pathlib import Path

    import numpy as np

    from ..errors import UserInputError
    from ..io.tables import array_column_names

    try:
        import dask.array as da
    except ImportError:
        raise UserInputError("--dask needs the dask extra: pip install 'emapps[dask]'") from None
    folder = Path(path)
    if folder.is_dir() and any((folder / name).exists()
                               for name in (".zarray", "zarr.json")):
        array = da.from_zarr(str(folder))
    elif path.endswith(".npy"):
        try:
            array = da.from_array(np.load(path, mmap_mode="r"), chunks=(chunk_rows, -1))
        except (OSError, ValueError) as error:
            raise UserInputError(f"{path}: not a readable .npy array ({error})") from None
    else:
        X, names = _load(path, columns)
        return da.from_array(X, chunks=(chunk_rows, -1)), names
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise UserInputError(f"{path}: a numeric rows x columns array is needed; got "
                             f"{array.ndim} dimensions of {array.dtype}")
    array, names = _select_columns(array, array_column_names(array.shape[1]), columns, path)
    return array.rechunk((chunk_rows, -1)), names


def _select_columns(X, names, columns, path):
    """The named ``columns`` (comma-separated; all when None) of X, a numpy array (made
    contiguous) or a Dask array."""
    import numpy as np

    from ..errors import UserInputError

    if columns:
        wanted = [name.strip() for name in columns.split(",")]
        missing = [name for name in wanted if name not in names]
        if missing:
            raise UserInputError(f"{path}: no column(s) {', '.join(missing)}; "
                                 f"columns are {', '.join(names)}")
        X = X[:, [names.index(name) for name in wanted]]
        names = wanted
    return (np.ascontiguousarray(X) if isinstance(X, np.ndarray) else X), names


def _warn_unconverged(selection, max_iter) -> None:
    """One stderr line per candidate that stopped at max_iter (the table says it too)."""
    for row in selection.rows:
        if row["ok"] and not row["converged"]:
            click.echo(f"emapps mixture: warning: K={row['k']} {row['covariance']} did not "
                       f"converge in {max_iter} iterations (raise --max-iter or --tol)",
                       err=True)


def _format_table(selection) -> str:
    lines = [f"{'K':>3} {'covariance':<10} {'loglik':>14} {'params':>7} {'BIC':>14} "
             f"{'AIC':>14} {'ICL':>14} {'iter':>5} converged"]
    for row in selection.rows:
        if not row["ok"]:
            lines.append(f"{row['k']:>3} {row['covariance']:<10} failed: {row['reason']}")
            continue
        lines.append(f"{row['k']:>3} {row['covariance']:<10} {row['loglik']:>14.4f} "
                     f"{row['n_params']:>7d} {row['bic']:>14.4f} {row['aic']:>14.4f} "
                     f"{row['icl']:>14.4f} {row['n_iter']:>5d} {row['converged']}")
    return "\n".join(lines)


def _format_components(model, names, errors=None) -> str:
    """One row per component: weight and means (with bootstrap standard errors)."""
    def cell(value, se):
        return f"{value:.6g}" if se is None else f"{value:.6g} ± {se:.2g}"

    lines = ["component\tweight\t" + "\t".join(f"mean_{name}" for name in names)]
    for k in range(model.n_components):
        weight_se = None if errors is None else errors.weights_se[k]
        means = "\t".join(cell(value, None if errors is None else errors.means_se[k, j])
                          for j, value in enumerate(model.means_[k]))
        lines.append(f"{k}\t{cell(model.weights_[k], weight_se)}\t{means}")
    return "\n".join(lines)
