"""emapps impute against Beagle 5.4 on the array and missingness experiments of
../shared/protocols/impute.md, in one run on the same inputs, and on the array
experiment with a generated panel of 5,000 mosaic haplotypes (a panel in the thousands).

Each tool runs as a child process (wall time, CPU time and peak RSS from wait4); both
outputs are scored by `emapps impute score` on the masked entries.  Needs Debian's
`beagle` (make bench installs it) and ../shared/data/genetics/impute.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMAPPS_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data" / "genetics" / "impute"
ARRAY = DATA / "bench_inputs" / "array"
MISSING = DATA / "bench_inputs" / "missing"
PLINK_MAP = DATA / "chr20_0.5-4.5Mb.b37.plink.map"


def measured(command) -> dict:
    """Run ``command``; wall and CPU seconds and peak RSS (MB) of the child."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    error = child.stderr.read().decode()
    child.stderr.close()
    if status != 0:
        sys.exit(f"{command[0]} failed ({status}):\n{error[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def score(imputed, truth, masked, reference=None) -> dict:
    command = [sys.executable, "-m", "emapps", "impute", "score", str(imputed), "--truth",
               str(truth), "--masked", str(masked), "--json", "-"]
    if reference is not None:
        command += ["--ref", str(reference)]
    return json.loads(subprocess.run(command, check=True, capture_output=True,
                                     text=True).stdout)["scores"]


def table(title, rows):
    print(f"\n## {title}\n")
    print("| run | wall s | CPU s | RSS MB | concordance | non-ref conc. | pooled r2 | "
          "r2 <1% | 1-5% | >=5% | corr(DR2, r2) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (cost, result) in rows.items():
        bins = [result[label]["r2_mean"] for label in ("<1%", "1-5%", ">=5%")]
        quality = result["dr2_correlation"]
        print(f"| {name} | {cost['wall']:.1f} | {cost['cpu']:.1f} | {cost['rss']:.0f} | "
              f"{result['all']['concordance']:.4f} | "
              f"{result['all']['nonref_concordance']:.4f} | "
              f"{result['all']['r2_pooled']:.3f} | " + " | ".join(f"{v:.3f}" for v in bins)
              + " | " + ("-" if quality is None else f"{quality:.3f}") + " |", flush=True)


def compare(rows, ours, peer):
    (cost, result), (peer_cost, peer_result) = rows[ours], rows[peer]
    deltas = ", ".join(f"{label} {result[label]['r2_mean'] - peer_result[label]['r2_mean']:+.3f}"
                       for label in ("<1%", "1-5%", ">=5%"))
    print(f"\n{ours} / {peer}: wall {cost['wall'] / peer_cost['wall']:.2f}x, CPU "
          f"{cost['cpu'] / peer_cost['cpu']:.2f}x, RSS {cost['rss'] / peer_cost['rss']:.2f}x; "
          f"concordance {result['all']['concordance'] - peer_result['all']['concordance']:+.4f}"
          f"; r2 {deltas}", flush=True)


def array_experiment(work, threads):
    target, panel = str(ARRAY / "target.array.vcf.gz"), str(ARRAY / "ref.vcf.gz")
    emapps = [sys.executable, "-m", "emapps", "impute", target, "--ref", panel,
              "--threads", str(threads), "--seed", "1", "-q"]
    runs = {
        "emapps impute": (emapps + ["-o", str(work / "emapps.vcf.gz")], "emapps.vcf.gz"),
        "emapps impute + genetic map": (emapps + ["--map", str(PLINK_MAP), "-o",
                                                  str(work / "emapps_map.vcf.gz")],
                                        "emapps_map.vcf.gz"),
        "Beagle 5.4": (["beagle", f"gt={target}", f"ref={panel}", f"out={work / 'beagle'}",
                        f"nthreads={threads}", "seed=1"], "beagle.vcf.gz"),
        "Beagle 5.4 + genetic map": (["beagle", f"gt={target}", f"ref={panel}",
                                      f"out={work / 'beagle_map'}", f"map={PLINK_MAP}",
                                      f"nthreads={threads}", "seed=1"],
                                     "beagle_map.vcf.gz"),
    }
    # a first emapps run fills the numba cache, as a user's first run would
    measured(emapps + ["-o", str(work / "warmup.vcf.gz")])
    rows = {}
    for name, (command, output) in runs.items():
        cost = measured(command)
        rows[name] = (cost, score(work / output, ARRAY / "truth.vcf.gz", target, panel))
        print(f"{name} done in {cost['wall']:.1f} s", file=sys.stderr, flush=True)
    table(f"Array imputation, {threads} threads (60 targets, 2,367 typed SNPs, 240-sample "
          f"panel, 21,303 masked SNPs scored)", rows)
    compare(rows, "emapps impute", "Beagle 5.4")
    compare(rows, "emapps impute + genetic map", "Beagle 5.4 + genetic map")


def mosaic_panel(output, n_haplotypes, seed=5):
    """A phased panel of ``n_haplotypes`` mosaics of the array panel's 480 haplotypes
    (a donor change every 0.3 cM on average, 2e-4 mutations per site), bgzipped and
    indexed: a panel in the thousands, at the array panel's sites."""
    import numpy as np
    import pysam

    from emapps.impute.io import genetic_positions, read_calls, read_genetic_map
    source = read_calls(str(ARRAY / "ref.vcf.gz"))
    real = np.concatenate([source.alleles[0], source.alleles[1]])       # (480, S)
    cm = genetic_positions(source.chrom, source.pos, read_genetic_map(str(PLINK_MAP)))
    rng = np.random.default_rng(seed)
    mosaics = np.empty((n_haplotypes, real.shape[1]), dtype=np.uint8)
    for h in range(n_haplotypes):
        changes = np.sort(rng.uniform(cm[0], cm[-1], rng.poisson((cm[-1] - cm[0]) / 0.3)))
        donors = rng.integers(0, real.shape[0], changes.size + 1)
        mosaics[h] = real[donors[np.searchsorted(changes, cm)], np.arange(real.shape[1])]
        mosaics[h] ^= (rng.random(real.shape[1]) < 2e-4).astype(np.uint8)
    genotypes = np.array(["0|0", "0|1", "1|0", "1|1"])[2 * mosaics[0::2] + mosaics[1::2]].T
    text = Path(output).with_suffix("")
    with open(text, "w") as handle:
        handle.write('##fileformat=VCFv4.2\n##contig=<ID=20>\n##FORMAT=<ID=GT,Number=1,'
                     'Type=String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\t'
                     'QUAL\tFILTER\tINFO\tFORMAT\t' + "\t".join(
                         f"MOSAIC{k:05d}" for k in range(n_haplotypes // 2)) + "\n")
        for s in range(real.shape[1]):
            handle.write(f"{source.chrom[s]}\t{source.pos[s]}\t{source.ids[s]}\t"
                         f"{source.ref[s]}\t{source.alt[s]}\t.\tPASS\t.\tGT\t"
                         + "\t".join(genotypes[s]) + "\n")
    pysam.tabix_compress(str(text), str(output), force=True)
    pysam.tabix_index(str(output), preset="vcf", force=True)
    text.unlink()


def large_panel_experiment(work, threads, n_haplotypes=5000):
    panel = work / "mosaic.vcf.gz"
    mosaic_panel(panel, n_haplotypes)
    target = str(ARRAY / "target.array.vcf.gz")
    runs = {
        "emapps impute": ([sys.executable, "-m", "emapps", "impute", target, "--ref",
                           str(panel), "--threads", str(threads), "--seed", "1", "-q", "-o",
                           str(work / "emapps_large.vcf.gz")], "emapps_large.vcf.gz"),
        "Beagle 5.4": (["beagle", f"gt={target}", f"ref={panel}",
                        f"out={work / 'beagle_large'}", f"nthreads={threads}", "seed=1"],
                       "beagle_large.vcf.gz"),
    }
    # a first run compiles the kernels of panel reduction, as a user's first run would
    measured(runs["emapps impute"][0])
    rows = {}
    for name, (command, output) in runs.items():
        cost = measured(command)
        rows[name] = (cost, score(work / output, ARRAY / "truth.vcf.gz", target,
                                  ARRAY / "ref.vcf.gz"))
        print(f"{name} done in {cost['wall']:.1f} s", file=sys.stderr, flush=True)
    table(f"Array imputation from a panel of {n_haplotypes:,} mosaic haplotypes, {threads} "
          f"threads (the array targets and truth; MAF from the real panel)", rows)
    compare(rows, "emapps impute", "Beagle 5.4")


def missing_experiment(work, threads):
    masked = str(MISSING / "cohort.missing.vcf.gz")
    emapps = [sys.executable, "-m", "emapps", "impute", masked, "--threads", str(threads),
              "--seed", "1", "-q"]
    runs = {
        "emapps impute (cohort, copying)": (emapps + ["-o", str(work / "cohort.vcf.gz")],
                                            "cohort.vcf.gz"),
        "emapps impute --phasings 1": (emapps + ["--phasings", "1", "-o",
                                                 str(work / "cohort1.vcf.gz")],
                                       "cohort1.vcf.gz"),
        "Beagle 5.4": (["beagle", f"gt={masked}", f"out={work / 'beagle_cohort'}",
                        f"nthreads={threads}", "seed=1"], "beagle_cohort.vcf.gz"),
    }
    # a first cohort run on the bundled slice fills the numba cache
    measured([sys.executable, "-m", "emapps", "impute", str(ROOT / "data" / "impute" /
              "target.vcf.gz"), "-o", str(work / "warmup_cohort.vcf.gz"), "-q"])
    rows = {}
    for name, (command, output) in runs.items():
        cost = measured(command)
        rows[name] = (cost, score(work / output, MISSING / "truth.vcf.gz", masked))
        print(f"{name} done in {cost['wall']:.1f} s", file=sys.stderr, flush=True)
    table(f"Sporadic missingness, {threads} threads (300 samples, 23,670 SNPs, 5% of calls "
          f"masked, no panel; MAF from the cohort)", rows)
    compare(rows, "emapps impute (cohort, copying)", "Beagle 5.4")
    compare(rows, "emapps impute --phasings 1", "Beagle 5.4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="array,large,missing")
    args = parser.parse_args()
    if not ARRAY.is_dir():
        sys.exit(f"{ARRAY} not found: the benchmark reads the 1000 Genomes inputs from "
                 f"../shared")
    if shutil.which("beagle") is None:
        sys.exit("beagle not found: apt-get install beagle (make bench does)")
    work = Path(tempfile.mkdtemp(prefix="bench_impute."))
    if "array" in args.only:
        array_experiment(work, args.threads)
    if "large" in args.only:
        large_panel_experiment(work, args.threads)
    if "missing" in args.only:
        missing_experiment(work, args.threads)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
