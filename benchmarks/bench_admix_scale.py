"""How `emapps admix` grows with the data (run by hand).

    python benchmarks/bench_admix_scale.py --out /tmp/admix-scale [--sizes 2500x50000,...]

Each size is simulated from the admixture model itself (seeded): K = 5 populations whose
A1 frequencies drift from a shared ancestral frequency (Balding-Nichols, F_ST 0.05),
individuals' proportions from a Dirichlet(0.3) draw, 1% of calls missing; the .bed is
written in blocks, never held unpacked.  `emapps admix -k 5` then runs as a user runs it
(2 threads); the table gives wall and CPU seconds, peak RSS, iterations, seconds per
E-step against N x M x K (the physical rate) and the log-log slopes of time per E-step
and of RSS against N x M.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
K = 5
BLOCK = 10_000


def simulate(prefix: Path, n: int, m: int, seed: int) -> None:
    from emapps.admix.genotypes import pack
    rng = np.random.default_rng(seed)
    Q = rng.dirichlet(np.full(K, 0.3), n)
    fst = 0.05
    with open(f"{prefix}.bed", "wb") as bed, open(f"{prefix}.bim", "w") as bim:
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        for start in range(0, m, BLOCK):
            rows = min(BLOCK, m - start)
            ancestral = rng.uniform(0.05, 0.95, rows)
            a, b = ancestral * (1 - fst) / fst, (1 - ancestral) * (1 - fst) / fst
            F = rng.beta(a[:, None], b[:, None], (rows, K))
            counts = rng.binomial(2, F @ Q.T).astype(np.int8)      # (rows, N)
            counts[rng.random(counts.shape) < 0.01] = -1
            bed.write(pack(counts).tobytes())
            bim.writelines(f"1\tsnp{start + j}\t0\t{start + j + 1}\tA\tG\n"
                           for j in range(rows))
    Path(f"{prefix}.fam").write_text("".join(f"f{i} i{i} 0 0 0 -9\n" for i in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--sizes", default="2500x20000,2500x80000,2500x500000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=3000)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes.split(","):
        n, m = (int(part) for part in size.split("x"))
        prefix = out / f"sim{n}x{m}"
        if not Path(f"{prefix}.bed").exists():
            simulate(prefix, n, m, seed=n * 7919 + m)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "emapps",
                               "admix", f"{prefix}.bed", "-k", str(K), "-o",
                               str(out / f"fit{n}x{m}"), "--seed", "1", "--threads",
                               str(args.threads), "--max-iter", str(args.max_iter), "-q"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode:
            raise RuntimeError(done.stderr[-800:])
        rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
        record = json.loads((out / f"fit{n}x{m}.json").read_text())
        iterations = record["n_iter"]
        fit_seconds = record["timings"]["fit"]
        e_steps = 3 * iterations          # an accelerated cycle runs three E-steps
        row = {"n": n, "m": m, "wall": wall,
               "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
               "rss_mb": rss_mb, "iterations": iterations, "converged": record["converged"],
               "seconds_per_estep": fit_seconds / e_steps,
               "ns_per_call_component": fit_seconds / e_steps / (n * m * K) * 1e9}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| N x M | wall s | CPU s | peak RSS MB | iterations | s per E-step | "
          "ns per call x K |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['n']} x {row['m']} | {row['wall']:.0f} | {row['cpu']:.0f} | "
              f"{row['rss_mb']:.0f} | {row['iterations']} | {row['seconds_per_estep']:.2f} | "
              f"{row['ns_per_call_component']:.2f} |")
    if len(rows) > 1:
        size = np.log([row["n"] * row["m"] for row in rows])
        for key in ("seconds_per_estep", "rss_mb"):
            slope = np.polyfit(size, np.log([row[key] for row in rows]), 1)[0]
            print(f"log-log slope of {key} against N x M: {slope:.2f}")


if __name__ == "__main__":
    main()
