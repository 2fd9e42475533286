"""emapps admix beside fastmixture, in one run on the same data (run by hand).

    pip install fastmixture            # into any environment; --fastmixture points at it
    python benchmarks/bench_admix.py --k 2..6 [--data ../shared/data/genetics/structure]

For each dataset and K: CPU and wall seconds, iterations and the log-likelihood of each
tool (fastmixture's Q and P are scored with emapps's likelihood, the same definition:
sum over observed calls of g log p + (2 - g) log(1 - p)), the CPU ratio, and on sim_dev
the RMSE of Q against the simulated truth.  Both run with --threads (default 2).
"""

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(argv) -> tuple:
    """(wall s, CPU s, stdout) of a child process."""
    before, started = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr[-500:]}")
    return time.perf_counter() - started, children_cpu() - before, done.stdout


def score(prefix, Q, P) -> float:
    from emapps.admix.genotypes import read_plink
    from emapps.admix.model import AdmixtureEM, AdmixtureParams
    genotypes = read_plink(prefix)
    model = AdmixtureEM(np.ascontiguousarray(genotypes.packed), genotypes.n_samples, Q.shape[1])
    params = AdmixtureParams(np.clip(Q, 1e-5, 1), np.clip(P, 1e-5, 1 - 1e-5))
    return model.e_step(params, model.chunks()[0])["loglik"]


def rmse(Q, truth) -> float:
    return min(float(np.sqrt(np.mean((Q[:, list(order)] - truth) ** 2)))
               for order in itertools.permutations(range(Q.shape[1])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/genetics/structure"))
    parser.add_argument("--sets", default="HM3_thinned_autosomal_overlap,sim_dev")
    parser.add_argument("--k", default="3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fastmixture", default="fastmixture",
                        help="The fastmixture executable ('' to skip it).")
    args = parser.parse_args()
    from emapps.cli.options import parse_int_range
    ks = parse_int_range(args.k, "--k")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.sets.split(","):
            prefix = Path(args.data) / name
            truth_path = Path(args.data) / f"{name}.Q.tsv"
            truth = (np.loadtxt(truth_path, skiprows=1, usecols=(3, 4, 5))
                     if truth_path.exists() else None)
            for k in ks:
                ours = Path(scratch) / f"ours.{name}"
                wall, cpu, _ = run_timed([sys.executable, "-m", "emapps", "admix", str(prefix),
                                          "-k", str(k), "-o", str(ours), "--seed",
                                          str(args.seed), "--threads", str(args.threads),
                                          "-q"])
                record = json.loads(Path(f"{ours}.json").read_text())
                Q = np.loadtxt(f"{ours}.{k}.Q")
                row = {"data": name, "k": k, "emapps_wall": wall, "emapps_cpu": cpu,
                       "emapps_iterations": record["n_iter"],
                       "emapps_loglik": record["log_likelihood"],
                       "emapps_rmse": rmse(Q, truth) if truth is not None and k == 3 else None}
                if args.fastmixture:
                    theirs = Path(scratch) / f"fm.{name}"
                    wall, cpu, out = run_timed([args.fastmixture, "--bfile", str(prefix),
                                                "--K", str(k), "--threads", str(args.threads),
                                                "--seed", str(args.seed), "--out",
                                                str(theirs)])
                    Qf = np.loadtxt(f"{theirs}.K{k}.s{args.seed}.Q")
                    Pf = np.loadtxt(f"{theirs}.K{k}.s{args.seed}.P")
                    row.update(fastmixture_wall=wall, fastmixture_cpu=cpu,
                               fastmixture_loglik=score(prefix, Qf, Pf),
                               fastmixture_rmse=(rmse(Qf, truth) if truth is not None
                                                 and k == 3 else None),
                               cpu_ratio=row["emapps_cpu"] / cpu)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| data | K | emapps CPU s (wall) | lnL emapps | fastmixture CPU s (wall) | "
          "lnL fastmixture | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['data']} | {row['k']} | {row['emapps_cpu']:.1f} ({row['emapps_wall']:.1f})"
              f" | {row['emapps_loglik']:.1f} | "
              + (f"{row['fastmixture_cpu']:.1f} ({row['fastmixture_wall']:.1f}) | "
                 f"{row['fastmixture_loglik']:.1f} | {row['cpu_ratio']:.2f}x |"
                 if "fastmixture_cpu" in row else "- | - | - |"))


if __name__ == "__main__":
    main()
