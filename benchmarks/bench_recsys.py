"""emapps recommenders against Surprise and cornac on MovieLens 100K, same splits, one run.

Run by hand (bench extra: pip install -e .[bench]; data in ../shared):
    python benchmarks/bench_recsys.py [--only A,C]
Protocols from ../shared/protocols/recsys.md, single thread: A (5-fold rating prediction,
RMSE/MAE clipped to [1, 5], fit seconds per fold; our hyper-parameters chosen on an inner
90/10 split of fold 0's training rows), C (new users folded in from 10 given ratings).
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMAPPS_SHARED", ROOT.parent / "shared"))
SPLITS = SHARED / "data" / "movielens-100k" / "splits"

GRID = [(k, reg) for k in (10, 20) for reg in (200.0, 300.0, 400.0, 600.0)]


def load(name):
    """(users, items, ratings, extra columns) as arrays of raw ids and values."""
    rows = np.loadtxt(SPLITS / name, dtype=str, delimiter="\t")
    return rows[:, 0], rows[:, 1], rows[:, 2].astype(float), rows[:, 3:]


def rmse_mae(predicted, actual):
    error = np.clip(predicted, 1, 5) - actual
    return float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error)))


# ------------------------------------------------------------------------- emapps

def emapps_ratings(users, items, values, like=None):
    from emapps.recsys.io import Ratings
    return Ratings.from_ids(users, items, values, like=like)


def emapps_fit(users, items, values, k, reg, seed=0):
    from emapps.recsys.factor import FactorRecommender
    ratings = emapps_ratings(users, items, values)
    started = time.process_time()
    model = FactorRecommender(k, reg_factors=reg, max_iter=30, tol=1e-6, seed=seed).fit(ratings)
    return model, ratings, time.process_time() - started


def emapps_predict(model, ratings, users, items):
    test = emapps_ratings(users, items, np.zeros(len(users)), like=ratings)
    return model.predict(test.users, test.items)


def choose_emapps(users, items, values):
    """Grid over (K, starting reg) on an inner 90/10 split of training rows only."""
    inner = np.random.default_rng(0).random(len(values)) < 0.1
    best = None
    for k, reg in GRID:
        model, ratings, _ = emapps_fit(users[~inner], items[~inner], values[~inner], k, reg)
        error = rmse_mae(emapps_predict(model, ratings, users[inner], items[inner]),
                         values[inner])[0]
        if best is None or error < best[0]:
            best = (error, k, reg)
    return best[1], best[2]


# -------------------------------------------------------------------------- peers

def surprise_fit(kind, users, items, values):
    import pandas as pd
    from surprise import SVD, BaselineOnly, Dataset, Reader
    frame = pd.DataFrame({"u": users, "i": items, "r": values})
    trainset = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5))).build_full_trainset()
    algorithm = {"SVD tuned": lambda: SVD(n_factors=200, reg_all=0.1, lr_all=0.01, n_epochs=50,
                                          random_state=0),
                 "SVD default": lambda: SVD(random_state=0),
                 "BaselineOnly": lambda: BaselineOnly(verbose=False)}[kind]()
    started = time.process_time()
    algorithm.fit(trainset)
    return algorithm, time.process_time() - started


def surprise_predict(algorithm, users, items):
    return np.array([algorithm.predict(u, i).est for u, i in zip(users, items)])


def cornac_fit(users, items, values):
    import cornac
    data = cornac.data.Dataset.from_uir(list(zip(users, items, values)), seed=0)
    model = cornac.models.MF(seed=0, verbose=False)
    started = time.process_time()
    model.fit(data)
    return (model, data), time.process_time() - started


def cornac_predict(fitted, users, items):
    model, data = fitted
    mean = data.global_mean
    out = np.full(len(users), mean)
    for row, (u, i) in enumerate(zip(users, items)):
        if u in data.uid_map and i in data.iid_map:
            out[row] = model.score(data.uid_map[u], data.iid_map[i])
    return out


# ----------------------------------------------------------------------- protocols

def protocol_a():
    users, items, values, extra = load("ml100k_explicit_5fold.tsv")
    folds = extra[:, 1].astype(int)
    train0 = folds != 0
    k, reg = choose_emapps(users[train0], items[train0], values[train0])
    print(f"\n## Protocol A: 5-fold rating prediction (emapps K={k}, reg={reg:g}, chosen on "
          f"an inner split of fold 0's training rows)\n")
    results = {}
    for fold in range(5):
        train, test = folds != fold, folds == fold
        model, ratings, seconds = emapps_fit(users[train], items[train], values[train], k, reg)
        results.setdefault("emapps factor (VB-EM)", []).append(
            (*rmse_mae(emapps_predict(model, ratings, users[test], items[test]),
                       values[test]), seconds))
        for kind in ("SVD tuned", "SVD default", "BaselineOnly"):
            algorithm, seconds = surprise_fit(kind, users[train], items[train], values[train])
            results.setdefault(f"Surprise {kind}", []).append(
                (*rmse_mae(surprise_predict(algorithm, users[test], items[test]),
                           values[test]), seconds))
        fitted, seconds = cornac_fit(users[train], items[train], values[train])
        results.setdefault("cornac MF (defaults)", []).append(
            (*rmse_mae(cornac_predict(fitted, users[test], items[test]), values[test]),
             seconds))
        print(f"fold {fold} done", file=sys.stderr, flush=True)
    ours = np.array(results["emapps factor (VB-EM)"])
    print("| model | RMSE mean (std) | MAE mean | fit s per fold | RMSE - emapps | "
          "fit time / emapps |")
    print("|---|---|---|---|---|---|")
    for name, rows in results.items():
        rows = np.array(rows)
        print(f"| {name} | {rows[:, 0].mean():.4f} ({rows[:, 0].std():.4f}) | "
              f"{rows[:, 1].mean():.4f} | {rows[:, 2].mean():.2f} | "
              f"{rows[:, 0].mean() - ours[:, 0].mean():+.4f} | "
              f"{rows[:, 2].mean() / ours[:, 2].mean():.1f}x |", flush=True)
    return k, reg


def protocol_c(k, reg):
    tr_u, tr_i, tr_r, _ = load("ml100k_foldin_train.tsv")
    gv_u, gv_i, gv_r, _ = load("ml100k_foldin_given.tsv")
    te_u, te_i, te_r, _ = load("ml100k_foldin_test.tsv")
    print(f"\n## Protocol C: {len(np.unique(gv_u))} new users folded in from 10 ratings each\n")
    model, ratings, seconds = emapps_fit(tr_u, tr_i, tr_r, k, reg)
    item_codes = emapps_ratings(te_u, te_i, te_r, like=ratings)
    given = emapps_ratings(gv_u, gv_i, gv_r, like=ratings)
    predictions = np.empty(len(te_r))
    latencies = []
    for user in np.unique(gv_u):
        mine = gv_u == user
        started = time.perf_counter()
        factors = model.fold_in(given.items[mine], gv_r[mine])
        rows = te_u == user
        predictions[rows] = model.predict_folded(factors, item_codes.items[rows])
        latencies.append(time.perf_counter() - started)
    rows_out = [("emapps fold-in (one E-step)", *rmse_mae(predictions, te_r),
                 f"{1000 * np.mean(latencies):.2f} ms/user")]
    all_u, all_i = np.r_[tr_u, gv_u], np.r_[tr_i, gv_i]
    all_r = np.r_[tr_r, gv_r]
    full, full_ratings, seconds = emapps_fit(all_u, all_i, all_r, k, reg)
    rows_out.append(("emapps full retrain", *rmse_mae(
        emapps_predict(full, full_ratings, te_u, te_i), te_r), f"{seconds:.2f} s fit"))
    for kind in ("BaselineOnly", "SVD default"):
        algorithm, seconds = surprise_fit(kind, all_u, all_i, all_r)
        rows_out.append((f"Surprise {kind} full retrain",
                         *rmse_mae(surprise_predict(algorithm, te_u, te_i), te_r),
                         f"{seconds:.2f} s fit"))
    algorithm, _ = surprise_fit("BaselineOnly", tr_u, tr_i, tr_r)
    rows_out.append(("no fold-in (BaselineOnly, item baseline)",
                     *rmse_mae(surprise_predict(algorithm, te_u, te_i), te_r), ""))
    print("| model | RMSE | MAE | cost |")
    print("|---|---|---|---|")
    for name, rmse, mae, cost in rows_out:
        print(f"| {name} | {rmse:.4f} | {mae:.4f} | {cost} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="A,C")
    args = parser.parse_args()
    if not SPLITS.is_dir():
        sys.exit(f"{SPLITS} not found: the benchmark reads MovieLens from ../shared")
    from emapps.kernels.parallel import set_threads
    set_threads(1)
    sections = args.only.split(",")
    k, reg = protocol_a() if "A" in sections else (10, 200.0)
    if "C" in sections:
        protocol_c(k, reg)


if __name__ == "__main__":
    main()
