"""The EM driver's Dask backend on data larger than a block: a Zarr array of 50 million
rows (generated, 800 MB) fitted by GaussianMixture on a distributed LocalCluster of 1
and 2 worker processes, against the same fit in memory, from the same start.

Prints throughput (rows x iterations per second), the client's peak RSS and the largest
parameter difference to the in-memory fit.  Run by hand: python benchmarks/bench_dask.py
"""

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from emapps import GaussianMixture


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path, n_rows, block, seed=0):
    """A 3-component mixture in 2-D written block by block (never all in memory)."""
    import zarr

    store = zarr.open(str(path), mode="w", shape=(n_rows, 2), chunks=(block, 2), dtype="f8")
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [3.0, 1.0], [-1.0, 4.0]])
    for start in range(0, n_rows, block):
        size = min(block, n_rows - start)
        labels = rng.choice(3, size, p=[0.5, 0.3, 0.2])
        store[start:start + size] = means[labels] + rng.normal(0, 0.8, (size, 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--block", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    import dask.array as da
    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="bench_dask."))
    try:
        started = time.perf_counter()
        generate(work / "x.zarr", args.rows, args.block)
        print(f"generated {args.rows:,} x 2 rows in {time.perf_counter() - started:.1f} s "
              f"(client RSS {peak_rss_mb():.0f} MB)", flush=True)
        blocks = da.from_zarr(str(work / "x.zarr"))
        start = dict(weights_init=[0.4, 0.3, 0.3], means_init=[[0.5, 0.5], [2.0, 2.0],
                                                               [-2.0, 3.0]],
                     precisions_init=np.stack([np.eye(2)] * 3), max_iter=args.iterations,
                     tol=0.0, random_state=0, accelerate=None)
        fits = {}
        print("\n| run | seconds | rows x iterations / s | client peak RSS MB |")
        print("|---|---|---|---|")
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                              memory_limit="4GB") as cluster, Client(cluster):
                GaussianMixture(3, **{**start, "max_iter": 1}).fit(blocks[:args.block])
                started = time.perf_counter()
                fits[workers] = GaussianMixture(3, **start).fit(blocks)
                seconds = time.perf_counter() - started
            print(f"| Dask, {workers} worker(s) | {seconds:.1f} | "
                  f"{args.rows * args.iterations / seconds:,.0f} | {peak_rss_mb():.0f} |",
                  flush=True)
        X = blocks.compute()
        started = time.perf_counter()
        in_memory = GaussianMixture(3, **start).fit(X)
        seconds = time.perf_counter() - started
        print(f"| in memory, one process | {seconds:.1f} | "
              f"{args.rows * args.iterations / seconds:,.0f} | {peak_rss_mb():.0f} |")
        for workers, fit in fits.items():
            difference = max(np.abs(getattr(fit, name) - getattr(in_memory, name)).max()
                             for name in ("weights_", "means_", "covariances_"))
            print(f"\n{workers} worker(s): largest parameter difference to the in-memory fit "
                  f"{difference:.1e}; lower bound {fit.lower_bound_:.10f} against "
                  f"{in_memory.lower_bound_:.10f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
