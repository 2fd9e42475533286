"""emapps FactorAnalysis beside scikit-learn's, in one run on the same data (run by hand).

    python benchmarks/bench_factors.py [--sizes 10000,100000,1000000]

Simulated complete data (D = 20 columns, q = 3 factors). For each size, each tool in its
own process (so peak memory is its own), one thread: seconds per iteration (an E-step for
emapps, an SVD iteration for scikit-learn, 20 of them), peak RSS, and at the smallest
size both fitted to convergence with their log-likelihoods.  Then the log-log slopes.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def data(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    loadings = rng.normal(size=(20, 3))
    return rng.normal(size=(n, 3)) @ loadings.T + rng.normal(size=(n, 20)) * 0.7


def child(tool: str, n: int, iterations: int) -> None:
    from emapps.core.runtime import set_threads
    from emapps.factors import FactorAnalysis

    set_threads(1)
    X = data(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warnings.simplefilter("ignore")
    if tool == "emapps":
        FactorAnalysis(3, max_iter=2, random_state=0).fit(X[:500])   # kernels loaded
        started = time.perf_counter()
        model = FactorAnalysis(3, max_iter=iterations, tol=0, accelerate=None,
                               random_state=0).fit(X)
        seconds = (time.perf_counter() - started) / model.result_.n_estep
        loglik = model.loglik_
    else:
        from sklearn.decomposition import FactorAnalysis as Reference
        started = time.perf_counter()
        model = Reference(3, max_iter=iterations, tol=0, svd_method="lapack").fit(X)
        seconds = (time.perf_counter() - started) / model.n_iter_
        loglik = model.score(X) * n
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tool": tool, "n": n, "seconds_per_iteration": seconds,
                      "peak_mb": peak, "above_data_mb": peak - base, "loglik": loglik}))


def converged(n: int) -> None:
    from sklearn.decomposition import FactorAnalysis as Reference

    from emapps.factors import FactorAnalysis

    X = data(n)
    started = time.process_time()
    ours = FactorAnalysis(3, random_state=0).fit(X)
    ours_cpu = time.process_time() - started
    started = time.process_time()
    reference = Reference(3, tol=1e-12, max_iter=100_000, svd_method="lapack").fit(X)
    reference_cpu = time.process_time() - started
    print(f"to convergence at N = {n:,}: emapps {ours.loglik_:.6f} in {ours_cpu:.2f} CPU s, "
          f"scikit-learn {reference.score(X) * n:.6f} in {reference_cpu:.2f} CPU s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--child", nargs=2, default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.iterations)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    for n in sizes:
        for tool in ("emapps", "scikit-learn"):
            done = subprocess.run([sys.executable, __file__, "--child", tool, str(n),
                                   "--iterations", str(args.iterations)],
                                  capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| N | emapps s/iteration | scikit-learn s/iteration | ratio | emapps MB above data "
          "| scikit-learn MB above data |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        ours, peer = (next(row for row in rows if row["n"] == n and row["tool"] == tool)
                      for tool in ("emapps", "scikit-learn"))
        print(f"| {n:,} | {ours['seconds_per_iteration']:.4f} | "
              f"{peer['seconds_per_iteration']:.4f} | "
              f"{peer['seconds_per_iteration'] / ours['seconds_per_iteration']:.1f}x | "
              f"{ours['above_data_mb']:.0f} | {peer['above_data_mb']:.0f} |")
    for tool in ("emapps", "scikit-learn"):
        mine = [row for row in rows if row["tool"] == tool]
        slope = np.polyfit(np.log([row["n"] for row in mine]),
                           np.log([row["seconds_per_iteration"] for row in mine]), 1)[0]
        print(f"{tool}: log-log slope of time per iteration {slope:.2f}")
    converged(sizes[0])


if __name__ == "__main__":
    main()
