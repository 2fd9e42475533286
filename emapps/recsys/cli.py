"""``emapps recsys``: fit a rating model, predict, recommend, and evaluate on a protocol."""

import sys

import click
import numpy as np

from ..cli.options import resolve_seed, run_record_option, seed_option, set_threads, threads_option
from ..core.progress import progress_bar, step
from .registry import MODELS, RATING_MODELS, TOPN_MODELS, make_model


def _given(value, default):
    """An option's value, or ``default`` when it was not given (0 stays 0 and is then
    rejected by the model, rather than silently replaced)."""
    return default if value is None else value


def _default(kind: str, name: str):
    """The default of parameter ``name`` of the recommender ``kind``: the option
    defaults below are read from the classes, never written twice."""
    return MODELS[kind][0].default_params()[name]


def _defaults_by_kind(name: str) -> str:
    """'10 factor, 32 implicit, ...': each kind's default of its size or of ``name``."""
    parts = {}
    for kind, (cls, size_name) in MODELS.items():
        defaults = cls.default_params()
        parameter = size_name if name == "size" else name
        if parameter in defaults:
            parts.setdefault(defaults[parameter], []).append(kind)
    return ", ".join(f"{value} {' and '.join(kinds)}" for value, kinds in parts.items())


UNKNOWN_HELP = ("Ids the model was not fitted on: 'error' (one line, exit 2) or "
                "'fallback' (the item's or the global mean; the most popular items), "
                "marked known=0 in the output.")


@click.group()
def recsys():
    """Latent-factor recommenders fitted by EM on rating files (u.data, ratings.dat, CSV)."""


@recsys.command()
@click.argument("ratings")
@click.option("--model", type=click.Choice(RATING_MODELS + TOPN_MODELS), default="factor",
              show_default=True,
              help="Rating prediction: factor (factor analysis, variational EM), "
                   "gaussian-aspect (Gaussian pLSA, tempered EM); top-N from implicit "
                   "feedback: implicit (probabilistic weighted MF, EM), aspect (pLSA, "
                   "tempered EM), poisson (Poisson MF, MAP-EM), multinomial (mixture of "
                   "multinomials, MAP-EM).")
@click.option("-k", "--factors", default=None, type=int,
              help=f"Factors, topics or classes (default: {_defaults_by_kind('size')}).")
@click.option("--reg-factors", default=_default("factor", "reg_factors"), show_default=True,
              help="factor: starting prior precision of the loadings (then estimated).")
@click.option("--reg-bias", default=_default("factor", "reg_bias"), show_default=True,
              help="factor: starting prior precision of the item biases (then estimated).")
@click.option("--fixed-prior", is_flag=True, default=False,
              help="factor: keep the prior precisions.")
@click.option("--temperature", default=None, type=float,
              help=f"aspect, gaussian-aspect: tempered-EM exponent in (0, 1] (default "
                   f"{_defaults_by_kind('temperature')}).")
@click.option("--alpha", default=_default("implicit", "alpha"), show_default=True,
              help="implicit: confidence per unit of feedback (c = 1 + alpha * count).")
@click.option("--implicit-threshold", type=float, default=None,
              help="aspect, implicit: ratings >= this become positive feedback (default: "
                   "the values are counts).")
@click.option("--max-iter", default=None, type=int,
              help=f"EM iterations at most (default: {_defaults_by_kind('max_iter')}).")
@click.option("--tol", default=None, type=float,
              help=f"Stop when the objective per rating changes by less (default: "
                   f"{_defaults_by_kind('tol')}).")
@click.option("--rating-range", default=None, metavar="LOW,HIGH",
              help="Reject ratings outside this range (e.g. 1,5), naming the line.")
@seed_option
@threads_option
@click.option("-o", "--output", required=True,
              help="Model file (.npz).")
@click.option("--json", "record_path", default=None, help="Write the run record (JSON) here.")
@click.option("-q", "--quiet", is_flag=True, default=False)
@click.option("-v", "--verbose", is_flag=True, default=False,
              help="The objective at every EM iteration, on stderr.")
def fit(ratings, model, factors, reg_factors, reg_bias, fixed_prior, temperature, alpha,
        implicit_threshold, max_iter, tol, rating_range, seed, threads, output, record_path,
        quiet, verbose):
    """Fit a model to RATINGS and save it."""
    from ..core.runtime import check_memory
    from ..errors import UserInputError
    from ..io.outputs import check_outputs, write_json
    from .io import read_ratings

    if output == "-":
        raise UserInputError("-o: a model is a file (.npz), not stdout")
    check_outputs([output, record_path], inputs=[ratings])
    set_threads(threads)
    seed = resolve_seed(seed)
    data = read_ratings(ratings, rating_range=_range(rating_range))
    if model in TOPN_MODELS and implicit_threshold is not None:
        data = data.implicit(implicit_threshold)
    recommender = make_model(model, factors, temperature=temperature, alpha=alpha,
                             reg_factors=reg_factors, reg_bias=reg_bias,
                             learn_prior=not fixed_prior, max_iter=max_iter, tol=tol,
                             random_state=seed)
    check_memory(recommender.estimated_bytes(data.n_users, data.n_items),
                 f"the {model} model with -k {recommender.get_params()[MODELS[model][1]]} on "
                 f"{data.n_users} users x {data.n_items} items", "lower -k")
    recommender.verbose = verbose
    with progress_bar("iteration", total=recommender.max_iter, quiet=quiet) as bar:
        recommender.progress = step(bar)
        recommender.fit(data)
    recommender.progress = None
    recommender.save(output)
    if record_path:
        write_json(record_path, recommender.run_record(
            model_kind=model, ratings=str(ratings), rows=len(data), users=data.n_users,
            items=data.n_items, output=output))
    if not recommender.converged_:
        click.echo(f"emapps recsys: warning: EM did not converge in {recommender.n_iter_} "
                   f"iterations (raise --max-iter or --tol)", err=True)
    if not quiet:
        click.echo(f"emapps recsys: {model} model, {len(data)} rows, {data.n_users} users, "
                   f"{data.n_items} items; objective {recommender.loglik_:.3f} after "
                   f"{recommender.n_iter_} iterations (seed {seed}); wrote {output}", err=True)
    return 0


@recsys.command()
@run_record_option
@click.argument("model_path", metavar="MODEL")
@click.argument("pairs")
@click.option("--unknown", type=click.Choice(["error", "fallback"]), default="error",
              show_default=True, help=UNKNOWN_HELP)
@click.option("-o", "--output", default="-", show_default=True, help="TSV, '-' for stdout.")
def predict(model_path, pairs, unknown, output):
    """Predicted ratings for the user/item rows of PAIRS (a third column is ignored)."""
    from ..errors import UserInputError
    from ..io.outputs import check_outputs
    from .io import read_pairs
    from .registry import load_model

    check_outputs([output], inputs=[model_path, pairs])
    recommender = load_model(model_path)
    if not hasattr(recommender, "predict"):
        raise UserInputError(f"{model_path}: a top-N model ranks items but predicts no "
                             f"ratings; use 'emapps recsys recommend'")
    user_ids, item_ids = read_pairs(pairs)
    predictions = recommender.predict(user_ids, item_ids, unknown=unknown)
    known = ((recommender.user_codes(user_ids, "fallback") >= 0)
             & (recommender.item_codes(item_ids, "fallback") >= 0))
    lines = [f"{u}\t{i}\t{p:.4f}\t{int(k)}"
             for u, i, p, k in zip(user_ids, item_ids, predictions, known)]
    _write(output, "user\titem\tprediction\tknown\n" + "\n".join(lines) + "\n")
    return {"pairs": len(lines), "unknown": int((~known).sum()), "output": output}


@recsys.command()
@run_record_option
@click.argument("model_path", metavar="MODEL")
@click.option("--users", default=None, help="Comma-separated user ids (default: all).")
@click.option("-n", default=10, show_default=True)
@click.option("--seen", default=None, help="A further ratings file whose items are not "
              "recommended (the model's own training items never are, unless --keep-seen).")
@click.option("--keep-seen", is_flag=True, default=False,
              help="Also rank the user's training items.")
@click.option("--unknown", type=click.Choice(["error", "fallback"]), default="error",
              show_default=True, help=UNKNOWN_HELP)
@click.option("-o", "--output", default="-", show_default=True, help="TSV, '-' for stdout.")
def recommend(model_path, users, n, seen, keep_seen, unknown, output):
    """Top-N items per user, best first: user, rank, item, predicted score, known."""
    from ..errors import UserInputError
    from ..io.outputs import check_outputs
    from .io import read_ratings
    from .registry import load_model

    check_outputs([output], inputs=[model_path, seen])
    if n < 1:
        raise UserInputError(f"-n must be >= 1; got {n}")
    recommender = load_model(model_path)
    wanted = ([u.strip() for u in users.split(",") if u.strip()] if users
              else recommender.user_ids_.tolist())
    history = read_ratings(seen) if seen else None
    top, scores = recommender.recommend(wanted, n, filter_seen=not keep_seen, seen=history,
                                        unknown=unknown)
    known = recommender.user_codes(wanted, "fallback") >= 0
    lines = [f"{user}\t{rank + 1}\t{item}\t{score:.4f}\t{int(known[row])}"
             for row, user in enumerate(wanted)
             for rank, (item, score) in enumerate(zip(top[row], scores[row]))
             if np.isfinite(score)]
    _write(output, "user\trank\titem\tprediction\tknown\n" + "\n".join(lines) + "\n")
    return {"users": len(wanted), "unknown_users": int((~known).sum()), "rows": len(lines),
            "output": output}


@recsys.command()
@run_record_option
@click.argument("model_path", metavar="MODEL")
@click.argument("ratings")
@click.option("-n", default=10, show_default=True)
@click.option("-o", "--output", default="-", show_default=True, help="TSV, '-' for stdout.")
def foldin(model_path, ratings, n, output):
    """Top-N for new users: each user of RATINGS is folded in from their own rows (one
    E-step for the rating and weighted-MF models, EM on P(z|u) for pLSA), items fixed."""
    from ..errors import UserInputError
    from ..io.outputs import check_outputs
    from .io import read_ratings
    from .registry import load_model

    check_outputs([output], inputs=[model_path, ratings])
    recommender = load_model(model_path)
    if not hasattr(recommender, "folded_scores"):
        raise UserInputError(f"{model_path}: this model kind has no fold-in")
    data = read_ratings(ratings, item_ids=recommender.item_ids_)
    if not (data.items >= 0).any():
        raise UserInputError(f"{ratings}: none of its items is known to the model")
    lines = []
    for code, user in enumerate(data.user_ids):
        mine = (data.users == code) & (data.items >= 0)
        scores = recommender.folded_scores(data.items[mine], data.values[mine])
        scores[data.items[mine]] = -np.inf
        top = np.argsort(-scores, kind="stable")[:n]
        lines += [f"{user}\t{rank + 1}\t{recommender.item_ids_[item]}\t{scores[item]:.4f}"
                  for rank, item in enumerate(top)]
    _write(output, "user\trank\titem\tscore\n" + "\n".join(lines) + "\n")
    return {"users": len(data.user_ids), "rows": len(lines), "output": output}


@recsys.command()
@run_record_option
@click.argument("model_path", metavar="MODEL")
@click.option("--user", required=True, help="The user id to explain.")
@click.option("--item", default=None, help="An item id (default: the user's top -n items).")
@click.option("-n", default=3, show_default=True, help="Recommendations to explain.")
@click.option("--why", default=3, show_default=True,
              help="Supporting items and latent classes to list for each.")
@click.option("--seen", default=None, help="Ratings file whose items are not recommended.")
def explain(model_path, user, item, n, why, seen):
    """For each recommendation: its score, the latent classes behind it and the user's
    training items that support it (TSV on stdout)."""
    from .io import read_ratings
    from .registry import load_model

    recommender = load_model(model_path)
    recommender.user_codes([user])   # an unknown id fails here, before any output
    if item is not None:
        recommender.item_codes([item])
        targets = [item]
    else:
        history = read_ratings(seen) if seen else None
        top, scores = recommender.recommend(user, n, seen=history)
        targets = top[np.isfinite(scores)].tolist()
    click.echo("user\titem\tscore\tkind\tid\tcontribution")
    explained = {}
    for target in targets:
        reasons = explained[target] = recommender.explain(user, target, n=why)
        head = f"{user}\t{target}\t{reasons['score']:.4f}"
        for factor, value in reasons["factors"]:
            click.echo(f"{head}\tlatent_class\t{factor}\t{value:.4f}")
        for support, value in reasons["items"]:
            click.echo(f"{head}\tsupporting_item\t{support}\t{value:.4f}")
    return {"user": user, "explanations": explained}


@recsys.command()
@run_record_option
@click.option("--protocol", type=click.Choice(["rating-cv", "topn", "foldin"]),
              required=True)
@click.option("--data", "data_path", required=True,
              help="rating-cv: user item rating timestamp fold rows (the frozen 5-fold "
                   "file); topn, foldin: the training ratings.")
@click.option("--test", "test_path", default=None, help="topn, foldin: the test ratings.")
@click.option("--given", "given_path", default=None,
              help="foldin: the new users' given ratings.")
@click.option("--model", "model_kind", type=click.Choice(RATING_MODELS + TOPN_MODELS),
              default=None, help="The model to evaluate (default: factor for rating-cv and "
              "foldin, which takes only factor; implicit for topn).")
@click.option("-k", "--factors", default=None, type=int,
              help="Factors, topics or classes (default: as for 'fit').")
@click.option("--reg-factors", default=_default("factor", "reg_factors"), show_default=True)
@click.option("--temperature", default=None, type=float,
              help="aspect, gaussian-aspect: tempered-EM exponent.")
@click.option("--max-iter", default=None, type=int)
@seed_option
@threads_option
def evaluate(protocol, data_path, test_path, given_path, model_kind, factors, reg_factors,
             temperature, max_iter, seed, threads):
    """Run an evaluation protocol (../shared/protocols/recsys.md) and print its metrics."""
    from ..errors import UserInputError
    from .evaluate import foldin, rating_cv, topn

    set_threads(threads)
    seed = resolve_seed(seed)
    kind = _given(model_kind, "implicit" if protocol == "topn" else "factor")
    wanted = {"rating-cv": RATING_MODELS, "foldin": ("factor",), "topn": TOPN_MODELS}[protocol]
    if kind not in wanted:
        raise UserInputError(f"--protocol {protocol} evaluates --model {' or '.join(wanted)}, "
                             f"not {kind}")
    model = make_model(kind, factors, temperature=temperature, reg_factors=reg_factors,
                       max_iter=max_iter, random_state=seed)
    if protocol == "rating-cv":
        table = rating_cv(data_path, model)
        click.echo("fold\tRMSE\tMAE\tfit_seconds")
        for row in table["folds"]:
            click.echo(f"{row['fold']}\t{row['rmse']:.4f}\t{row['mae']:.4f}\t"
                       f"{row['seconds']:.2f}")
        click.echo(f"mean\t{table['rmse']:.4f}\t{table['mae']:.4f}\t{table['seconds']:.2f}")
        click.echo(f"std\t{table['rmse_std']:.4f}\t{table['mae_std']:.4f}\t")
        return {"seed": seed, "metrics": table}
    if test_path is None:
        raise UserInputError(f"--protocol {protocol} needs --test")
    if protocol == "foldin":
        if given_path is None:
            raise UserInputError("--protocol foldin needs --given")
        metrics = foldin(data_path, given_path, test_path, model)
    else:
        metrics = topn(data_path, test_path, model)
    for name, value in metrics.items():
        for key, item in (value.items() if isinstance(value, dict) else [(None, value)]):
            label = name if key is None else f"{name}[{key}]"
            click.echo(f"{label}\t{item:.4f}" if isinstance(item, float) else f"{label}\t{item}")
    return {"seed": seed, "metrics": metrics}


def _range(text):
    """(low, high) from 'LOW,HIGH', or None."""
    from ..errors import UserInputError
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise UserInputError(f"--rating-range wants LOW,HIGH (e.g. 1,5); got {text!r}") \
            from None
    if not low <= high:
        raise UserInputError(f"--rating-range: {low:g} is above {high:g}")
    return low, high


def _write(output, text):
    from ..io.outputs import write_text
    if output == "-":
        sys.stdout.write(text)
    else:
        write_text(output, text)
