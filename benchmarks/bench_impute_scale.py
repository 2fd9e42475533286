"""emapps impute against Beagle 5.4 and Minimac4 as the reference panel grows, per
../shared/protocols/impute-scale/: msprime panels of 2k, 10k, 40k and 100k haplotypes,
1,000 unphased targets typed at the array SNPs, the other SNPs masked and scored.

Simulate once (about 2-3 minutes; needs msprime, bgzip and bcftools):

    python ../shared/protocols/impute-scale/simulate.py --out scale-data

then `python benchmarks/bench_impute_scale.py --data scale-data`.  Each tool runs as a
child process, one after the other, with the protocol's commands (wall and CPU seconds,
peak RSS from wait4); emapps reads the panel converted once by `emapps impute convert`
(timed on its own row), Minimac4 imputes Beagle-prephased targets (prephasing timed on
its own row) from a reference it compresses once (not timed).  Scores from `emapps
impute score` with MAF from the panel; the log-log slope of CPU seconds against panel
haplotypes is fitted per tool from 10k haplotypes up.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pysam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_impute import measured, score  # noqa: E402

SIZES = (1000, 5000, 20000, 50000)   # panel individuals (haplotypes: twice that)
BINS = ("<1%", "1-5%", ">=5%")


def emapps(*arguments):
    return [sys.executable, "-m", "emapps", *map(str, arguments)]


def run_size(data, work, individuals, threads, tools):
    """{tool: (cost, scores or None)} for one panel size."""
    panel_vcf = data / f"panel{individuals}.vcf.gz"
    target, truth = data / "target.array.vcf.gz", data / "truth.vcf.gz"
    genetic_map = data / "map.plink"
    rows = {}
    if "emapps" in tools:
        compact = work / f"panel{individuals}.emref"
        rows["emapps convert"] = (measured(emapps("impute", "convert", panel_vcf, "-o",
                                                  compact, "--threads", threads, "-q")), None)
        out = work / f"emapps{individuals}.vcf.gz"
        cost = measured(emapps("impute", target, "--ref", compact, "--map", genetic_map,
                               "-o", out, "--threads", threads, "--seed", 1, "-q"))
        rows["emapps"] = (cost, score(out, truth, target, compact))
    if "beagle" in tools:
        cost = measured(["beagle", f"gt={target}", f"ref={panel_vcf}", f"map={genetic_map}",
                         f"out={work / f'beagle{individuals}'}", f"nthreads={threads}",
                         "seed=1"])
        rows["Beagle 5.4"] = (cost, score(work / f"beagle{individuals}.vcf.gz", truth,
                                          target, compact if "emapps" in tools else None))
    if "minimac4" in tools:
        reference = work / f"panel{individuals}.msav"
        with open(reference, "wb") as handle:
            subprocess.run(["minimac4", "--compress-reference", str(panel_vcf)],
                           stdout=handle, check=True)
        phased = work / f"prephased{individuals}"
        rows["Beagle prephasing"] = (measured([
            "beagle", f"gt={target}", f"ref={panel_vcf}", f"map={genetic_map}",
            f"out={phased}", "impute=false", f"nthreads={threads}", "seed=1"]), None)
        pysam.tabix_index(f"{phased}.vcf.gz", preset="vcf", force=True)  # Minimac4 needs it
        out = work / f"minimac{individuals}.vcf.gz"
        cost = measured(["minimac4", str(reference), f"{phased}.vcf.gz", "-o", str(out),
                         "-O", "vcf.gz", "-f", "GT,DS", "-t", str(threads)])
        rows["Minimac4"] = (cost, score(out, truth, target,
                                        compact if "emapps" in tools else None))
    return rows


def print_table(results):
    print("\n| panel haplotypes | tool | wall s | CPU s | peak RSS MB | concordance | "
          "r2 <1% | r2 1-5% | r2 >=5% |")
    print("|---|---|---|---|---|---|---|---|---|")
    for individuals, rows in results.items():
        for tool, (cost, scores) in rows.items():
            quality = (["-"] * 4 if scores is None else
                       [f"{scores['all']['concordance']:.4f}"]
                       + [f"{scores[label]['r2_mean']:.3f}" for label in BINS])
            print(f"| {2 * individuals:,} | {tool} | {cost['wall']:.1f} | {cost['cpu']:.1f} "
                  f"| {cost['rss']:.0f} | " + " | ".join(quality) + " |", flush=True)


def slopes(results):
    tools = {tool for rows in results.values() for tool in rows}
    print("\nlog-log slope of CPU seconds against panel haplotypes (10k haplotypes up):")
    for tool in sorted(tools):
        points = [(2 * n, rows[tool][0]["cpu"]) for n, rows in results.items()
                  if tool in rows and 2 * n >= 10000]
        if len(points) >= 2:
            x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
            print(f"  {tool}: {np.polyfit(x, y, 1)[0]:.2f} over {len(points)} sizes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path,
                        help="the folder simulate.py wrote")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="panel sizes in individuals")
    parser.add_argument("--tools", default="emapps,beagle,minimac4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None,
                        help="work folder to keep the outputs in (default: a temporary one)")
    args = parser.parse_args()
    tools = args.tools.split(",")
    for tool, command in (("beagle", "beagle"), ("minimac4", "minimac4")):
        if tool in tools and shutil.which(command) is None:
            sys.exit(f"{command} not found: apt-get install {command}")
    if not (args.data / "target.array.vcf.gz").exists():
        sys.exit(f"{args.data}: run simulate.py first (see this script's docstring)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_impute_scale."))
    work.mkdir(parents=True, exist_ok=True)
    # a first run fills the numba cache, as a user's first run would
    measured(emapps("impute", args.data / "target.array.vcf.gz", "--ref",
                    args.data / f"panel{SIZES[0]}.vcf.gz", "-o", work / "warmup.vcf.gz",
                    "-r", "1:1-300000", "-q"))
    results = {}
    for individuals in map(int, args.sizes.split(",")):
        results[individuals] = run_size(args.data, work, individuals, args.threads, tools)
        print(f"{2 * individuals:,} haplotypes done", file=sys.stderr, flush=True)
    print_table(results)
    slopes(results)
    (work / "results.json").write_text(json.dumps(
        {str(k): {tool: {"cost": cost, "scores": scores} for tool, (cost, scores) in
                  rows.items()} for k, rows in results.items()}, indent=1))
    print(f"\nraw results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
