"""emapps lca beside StepMix, in one run on the same data (run by hand).

    pip install -e '.[bench]'          # StepMix 3 comes with the bench extra
    python benchmarks/bench_lca.py [--data ../shared/data/tabular] [--threads 1]

1. poLCA's datasets, 50 starts each: log-likelihood and CPU of emapps and StepMix, with
   poLCA's stored best (its reference fits; R with poLCA is not needed).
2. The simulated 200,000 respondents x 20 items x 6 classes with 10% missing
   (lca_sim): one start of each tool (seconds per iteration, CPU, log-likelihood, ARI
   against the true classes), then emapps's 50 starts (10 finished) at 1 and 2 threads.
3. Scale: emapps's seconds per E-step and peak memory for 25k .. 1.6M respondents (rows
   of lca_sim repeated), and StepMix's at 50k, 200k and 800k, with log-log slopes.
"""

import argparse
import gzip
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

POLCA_MODELS = ("carcinoma_2", "carcinoma_3", "carcinoma_4", "gss82_3", "values_2",
                "election_3_cc", "election_3_fiml")


def cpu() -> float:
    return time.process_time()


def polca_sets(data: Path, threads: int) -> None:
    from stepmix import StepMix

    from emapps.core.runtime import set_threads
    from emapps.io.tables import read_table
    from emapps.lca import LatentClassModel

    set_threads(threads)
    warm_up()
    reference = json.loads((ROOT / "tests/lca/polca_reference.json").read_text())["models"]
    print("| model | poLCA best (stored) | emapps loglik | emapps CPU s | starts at best | "
          "StepMix loglik | StepMix CPU s | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name in POLCA_MODELS:
        ref = reference[name]
        X, names = read_table(str(ROOT / "data/lca" / f"{ref['dataset']}.csv"))
        X = X[:, [names.index(item) for item in ref["items"]]]
        if ref["na.rm"]:
            X = X[~np.isnan(X).any(axis=1)]
        started = cpu()
        ours = LatentClassModel(ref["nclass"], n_init=50, random_state=1).fit(X)
        ours_cpu = cpu() - started
        started = cpu()
        peer = StepMix(n_components=ref["nclass"], measurement="categorical_nan", n_init=50,
                       max_iter=5000, abs_tol=1e-10, rel_tol=0, random_state=1, verbose=0,
                       progress_bar=0).fit(X - 1)
        peer_cpu = cpu() - started
        peer_loglik = float(peer.score(X - 1) * X.shape[0])
        print(f"| {name} | {ref['llik']:.4f} | {ours.loglik_:.4f} | {ours_cpu:.2f} | "
              f"{ours.starts_at_best_}/50 | {peer_loglik:.4f} | {peer_cpu:.2f} | "
              f"{ours_cpu / peer_cpu:.3f} |", flush=True)


def warm_up() -> None:
    """Load (or compile) the kernels before anything is timed."""
    from emapps.lca import LatentClassModel

    answers = np.random.default_rng(0).integers(1, 4, size=(300, 5)).astype(float)
    answers[0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # three iterations do not converge, by design
        model = LatentClassModel(2, n_init=1, max_iter=3, tol=0, random_state=0).fit(answers)
    model.predict_proba(answers)


def simulated(data: Path):
    from emapps.lca.io import read_answers

    plain = Path("/tmp/emapps_lca_sim.csv")
    if not plain.exists():
        with gzip.open(data / "lca_sim/lca_sim_200k_s20261126.csv.gz", "rb") as source:
            plain.write_bytes(source.read())
    columns, names = read_answers(str(plain))
    return np.column_stack(columns[:20]), columns[20]


def one_start(data: Path, threads: int) -> None:
    from sklearn.metrics import adjusted_rand_score
    from stepmix import StepMix

    from emapps.core.runtime import set_threads
    from emapps.lca import LatentClassModel

    set_threads(threads)
    X, truth = simulated(data)
    rows = []
    started, wall = cpu(), time.perf_counter()
    ours = LatentClassModel(6, n_init=1, random_state=1).fit(X)
    rows.append(("emapps", cpu() - started, time.perf_counter() - wall, ours.result_.n_estep,
                 ours.loglik_, adjusted_rand_score(truth, ours.predict(X))))
    started, wall = cpu(), time.perf_counter()
    peer = StepMix(n_components=6, measurement="categorical_nan", n_init=1, max_iter=1000,
                   abs_tol=1e-10, rel_tol=0, random_state=1, verbose=0,
                   progress_bar=0).fit(X - 1)
    rows.append(("StepMix", cpu() - started, time.perf_counter() - wall, peer.n_iter_,
                 float(peer.score(X - 1) * X.shape[0]),
                 adjusted_rand_score(truth, peer.predict(X - 1))))
    print(f"\none start, 200,000 x 20 x 6, {threads} thread(s)")
    print("| tool | CPU s | wall s | E-steps | s per E-step | log-likelihood | ARI |")
    print("|---|---|---|---|---|---|---|")
    for tool, seconds, wall, steps, loglik, ari in rows:
        print(f"| {tool} | {seconds:.2f} | {wall:.2f} | {steps} | {seconds / steps:.4f} | "
              f"{loglik:.4f} | {ari:.4f} |")
    print(f"per E-step, StepMix / emapps: {rows[1][1] / rows[1][3] / (rows[0][1] / rows[0][3]):.1f}x;"
          f" poLCA's stored 0.13 s per iteration / emapps: "
          f"{0.13 / (rows[0][1] / rows[0][3]):.1f}x; poLCA's whole fit 20.7 CPU s / emapps's "
          f"start: {20.7 / rows[0][1]:.1f}x")
    for count in (1, 2):
        set_threads(count)
        started, wall = cpu(), time.perf_counter()
        model = LatentClassModel(6, n_init=50, n_final=10, random_state=1).fit(X)
        print(f"50 starts (10 finished), {count} thread(s): {time.perf_counter() - wall:.1f} s "
              f"wall, {cpu() - started:.1f} CPU s, loglik {model.loglik_:.4f}, "
              f"{model.starts_at_best_}/10 at the best", flush=True)


def scale_child(rows: int, tool: str) -> None:
    """One size and tool, in its own process (peak memory per size)."""
    from emapps.core.runtime import set_threads
    from emapps.lca import LatentClassModel

    set_threads(1)
    warm_up()
    X = np.load(SIMULATED_ARRAY)
    X = np.tile(X, (rows // X.shape[0] + 1, 1))[:rows]
    data_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if tool == "stepmix":
        from stepmix import StepMix
        started = time.perf_counter()
        peer = StepMix(n_components=6, measurement="categorical_nan", n_init=1, max_iter=3,
                       abs_tol=0, rel_tol=0, random_state=1, verbose=0,
                       progress_bar=0).fit(X - 1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rows": rows, "seconds_per_estep": (time.perf_counter() - started)
                          / peer.n_iter_, "setup_seconds": 0.0, "peak_mb": peak,
                          "above_data_mb": peak - data_mb}))
        return
    model = LatentClassModel(6, n_init=1, max_iter=5, tol=0, random_state=1)
    started = time.perf_counter()
    model.fit(X)
    total = time.perf_counter() - started
    iterations = sum(model.result_.timings["iterations"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds_per_estep": iterations / model.result_.n_estep,
                      "setup_seconds": total - iterations, "peak_mb": peak,
                      "above_data_mb": peak - data_mb}))


#: the simulated answers as an array, for the scale runs' child processes
SIMULATED_ARRAY = "/tmp/emapps_lca_sim.npy"


def scale(data: Path, tool: str = "emapps") -> None:
    sizes = (25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000)
    if tool == "stepmix":
        sizes = (50_000, 200_000, 800_000)
    np.save(SIMULATED_ARRAY, simulated(data)[0])
    results = []
    for rows in sizes:
        done = subprocess.run([sys.executable, __file__, "--scale-child", str(rows), "--tool",
                               tool, "--data", str(data)], capture_output=True, text=True,
                              check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\n{tool}:")
    print("\n| respondents | s per E-step | fit set-up s | peak RSS MB | of it above the data |")
    print("|---|---|---|---|---|")
    for row in results:
        print(f"| {row['rows']:,} | {row['seconds_per_estep']:.4f} | "
              f"{row['setup_seconds']:.2f} | {row['peak_mb']:.0f} | "
              f"{row['above_data_mb']:.0f} |")
    x = np.log([row["rows"] for row in results])
    time_slope = np.polyfit(x, np.log([row["seconds_per_estep"] for row in results]), 1)[0]
    memory_slope = np.polyfit(x, np.log([row["peak_mb"] for row in results]), 1)[0]
    print(f"log-log slope: time {time_slope:.2f}, peak memory {memory_slope:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/tabular"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scale-child", type=int, default=None)
    parser.add_argument("--tool", default="emapps", choices=("emapps", "stepmix"))
    parser.add_argument("--skip", default="", help="comma list of: polca, start, scale")
    args = parser.parse_args()
    if args.scale_child:
        scale_child(args.scale_child, args.tool)
        return
    data = Path(args.data)
    skip = set(args.skip.split(","))
    if "polca" not in skip:
        polca_sets(data, args.threads)
    if "start" not in skip:
        one_start(data, args.threads)
    if "scale" not in skip:
        scale(data)
        scale(data, "stepmix")


if __name__ == "__main__":
    main()
