"""emapps.GaussianMixture against sklearn.mixture.GaussianMixture, side by side.

Run by hand (`make bench`); not a test.  Every case runs in a fresh worker process (so
peak RSS is per case) from the same data and the same start, at 1 and 2 threads.
Prints seconds per EM iteration and per fit, ratios (sklearn / emapps), the final
mean log-likelihood difference, peak memory, the share of the machine's compute limit
reached, and cold/warm start-up times of the CLI.

    python benchmarks/bench_mixture.py [--quick] [--json out.json]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 8
#: measured FMA peak of one core of this machine kind (2 x 256-bit FMA at ~3.6 GHz)
PEAK_FLOPS_PER_CORE = 58e9


def make_data(n_rows, n_features, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(K, n_features))
    labels = rng.integers(K, size=n_rows)
    return centres[labels] + rng.normal(size=(n_rows, n_features))


def shared_start(X, covariance_type, seed=1):
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), K, replace=False)]
    precision = np.linalg.inv(np.cov(X[:20000].T))
    precisions = {"full": np.repeat(precision[None], K, axis=0),
                  "diag": np.repeat(np.diag(precision)[None], K, axis=0)}[covariance_type]
    return dict(weights_init=np.full(K, 1 / K), means_init=means, precisions_init=precisions)


def worker(case):
    """Fit one case in this process; print a JSON result line."""
    import warnings
    warnings.simplefilter("ignore")
    if case["impl"] == "emapps":
        from emapps import GaussianMixture
        from emapps.core.runtime import set_threads
        set_threads(case["threads"])
    else:
        from sklearn.mixture import GaussianMixture
        from threadpoolctl import threadpool_limits
    X = np.load(case["data"])
    init = shared_start(X, case["covariance"])
    # the start is given, so no k-means runs; 'random_from_data' keeps sklearn's unused
    # initial responsibilities cheap
    settings = dict(covariance_type=case["covariance"], max_iter=case["max_iter"],
                    tol=case["tol"], init_params="random_from_data", **init)
    if case["impl"] == "emapps":
        settings["accelerate"] = None   # plain EM, step for step as scikit-learn runs it
    GaussianMixture(K, **{**settings, "max_iter": 1}).fit(X[:2000])  # compile/load caches
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case["impl"] == "emapps":
        started = time.perf_counter()
        model = GaussianMixture(K, **settings).fit(X)
        elapsed = time.perf_counter() - started
        per_iter = float(np.median(model.result_.timings["iterations"]))
    else:
        with threadpool_limits(case["threads"]):
            started = time.perf_counter()
            model = GaussianMixture(K, **settings).fit(X)
            elapsed = time.perf_counter() - started
            per_iter = elapsed / model.n_iter_
            if case["tol"] == 0.0:  # difference of two fits: no set-up or final E-step
                started = time.perf_counter()
                GaussianMixture(K, **{**settings, "max_iter": 1}).fit(X)
                per_iter = (elapsed - (time.perf_counter() - started)) / (model.n_iter_ - 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**case, "seconds": elapsed, "per_iter": per_iter, "n_iter": model.n_iter_,
                      "lower_bound": model.lower_bound_,
                      "peak_extra_mb": (peak - rss_before) / 1024}))


def run_case(case):
    output = subprocess.run([sys.executable, __file__, "--worker", json.dumps(case)],
                            capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def startup_times():
    """`emapps --help`, and a small fit in a new process with a cold and a warm cache."""
    emapps = [sys.executable, "-m", "emapps"]
    data = Path(__file__).resolve().parents[1] / "data" / "tabular" / "old_faithful.csv"
    fit = emapps + ["mixture", "fit", str(data), "-k", "2", "--seed", "1", "-q"]
    rows = {}
    started = time.perf_counter()
    subprocess.run(emapps + ["--help"], check=True, capture_output=True)
    rows["help"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold (compile)", "warm (cached)"):
            started = time.perf_counter()
            subprocess.run(fit, check=True, capture_output=True, env=env)
            rows[label] = time.perf_counter() - started
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--quick", action="store_true", help="N=1e5 only")
    parser.add_argument("--json", help="also write all rows here")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    rows = []
    folder = tempfile.TemporaryDirectory()
    print("per EM iteration, K=8, same data and start; ratio = sklearn / emapps; 'of peak' = "
          "N*K*(2D^2+D) flops at 58 GFLOP/s per thread over our time; MB = peak RSS above the "
          "loaded data")
    print(f"{'N':>8} {'D':>3} {'cov':>5} {'thr':>3} {'emapps s/it':>12} {'sklearn s/it':>13} "
          f"{'ratio':>7} {'of peak':>8} {'dLL':>9} {'MB ours':>8} {'MB skl':>8}", flush=True)
    for n in sizes:
        for d in (2, 8, 16):
            data = Path(folder.name) / f"X_{n}_{d}.npy"
            np.save(data, make_data(n, d))
            for covariance in ("full", "diag"):
                for threads in (1, 2):
                    base = dict(n=n, d=d, covariance=covariance, threads=threads, max_iter=5,
                                tol=0.0, data=str(data))
                    ours = run_case({**base, "impl": "emapps"})
                    theirs = run_case({**base, "impl": "sklearn"})
                    flops = n * K * ((2 * d * d + d) if covariance == "full" else 4 * d)
                    limit = flops / (PEAK_FLOPS_PER_CORE * threads)
                    rows.append({"ours": ours, "sklearn": theirs, "limit_seconds": limit})
                    print(f"{n:>8} {d:>3} {covariance:>5} {threads:>3} {ours['per_iter']:>12.4f} "
                          f"{theirs['per_iter']:>13.4f} {theirs['per_iter'] / ours['per_iter']:>6.1f}x "
                          f"{limit / ours['per_iter']:>7.0%} "
                          f"{ours['lower_bound'] - theirs['lower_bound']:>9.1e} "
                          f"{ours['peak_extra_mb']:>8.0f} {theirs['peak_extra_mb']:>8.0f}",
                          flush=True)
    print("\nwhole fit to sklearn's default tol=1e-3 from the same start (N=%d, D=8, K=8, full)"
          % sizes[-1])
    for threads in (1, 2):
        base = dict(n=sizes[-1], d=8, covariance="full", threads=threads, max_iter=300, tol=1e-3,
                    data=str(Path(folder.name) / f"X_{sizes[-1]}_8.npy"))
        ours = run_case({**base, "impl": "emapps"})
        theirs = run_case({**base, "impl": "sklearn"})
        rows.append({"fit_ours": ours, "fit_sklearn": theirs})
        print(f"threads {threads}: emapps {ours['seconds']:.2f} s ({ours['n_iter']} it), sklearn "
              f"{theirs['seconds']:.2f} s ({theirs['n_iter']} it), ratio "
              f"{theirs['seconds'] / ours['seconds']:.1f}x, dLL "
              f"{ours['lower_bound'] - theirs['lower_bound']:.1e}", flush=True)
    print("\nstart-up")
    startup = startup_times()
    for label, seconds in startup.items():
        print(f"  {label:<16} {seconds:.3f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "startup": startup}, indent=1))


if __name__ == "__main__":
    main()
