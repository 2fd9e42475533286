"""emapps haplo against R haplo.stats haplo.em, side by side on the same tables.

Run by hand (needs Debian's r-cran-haplo.stats and ../shared/data/genetics/haplo):
    python benchmarks/bench_haplo.py [--starts 10] [--only fit,truth] [--repeat 3]
Each fit runs in its own process (CPU time and peak memory of that process alone);
haplo.em uses its defaults (10 tries), with CPU time measured inside R; ours is the
fit's CPU time after a 2-locus warm-up fit has loaded the cached numba kernels.
Prints: log-likelihood of both, CPU seconds (the least of --repeat alternating runs of
each), ours/peer CPU ratio, peak RSS; then the distance of each estimate to the phased
truth's haplotype frequencies on kg windows, beside the maximum EM reaches from the
truth itself.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import fmean

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMAPPS_SHARED", ROOT.parent / "shared"))
HAPLO = SHARED / "data" / "genetics" / "haplo"
R_SCRIPT = ROOT / "benchmarks" / "haplo_em.R"
KG_TABLE = HAPLO / "kg_chr20_100snp_geno.tsv"
KG_PHASED = HAPLO / "kg_chr20_100snp_phased.vcf"

OURS = """
import json, resource, sys, time
from emapps.haplo import HaplotypeEM, read_genotypes
path, loci, starts = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
genotypes = read_genotypes(path, loci=loci)
warm = time.process_time()
HaplotypeEM(1, random_state=0).fit(genotypes.select_loci(loci[:2]))  # loads the cached kernels
load = time.process_time() - warm
started = time.process_time()
model = HaplotypeEM(starts, random_state=0).fit(genotypes)
cpu = time.process_time() - started
freqs = {"-".join(label.split("\\x00")): float(f)
         for label, f in zip(model.haplotype_labels("\\x00"), model.frequencies_)}
print(json.dumps({"loglik": model.loglik_, "cpu": cpu, "load": load, "n_haps": len(freqs),
                  "freqs": freqs}))
"""


def loci_of(table, count=None, start=0):
    with open(table) as handle:
        header = handle.readline().rstrip("\n").split("\t")
    names = [column[:-3] for column in header if column.endswith(".a1")]
    names = names or [column[:-2] for column in header if column.endswith(".1")]
    return names[start:start + count if count else None]


def run_measured(argv, timeout):
    """Standard output of one child process, or None past ``timeout``."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    if process.returncode:
        raise ChildFailed(process.returncode, err.strip()[-500:])
    return out


class ChildFailed(RuntimeError):
    """A measured child process exited with an error (or was killed by a signal)."""

    def __init__(self, returncode, stderr):
        super().__init__(f"exit status {returncode}: {stderr}")
        self.returncode = returncode


def ours(table, loci, starts):
    """Our fit in a fresh process: (result dict, peak RSS MB)."""
    rss_file = tempfile.NamedTemporaryFile(suffix=".rss", delete=False).name
    argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file, sys.executable, "-c", OURS,
            str(table), ",".join(loci), str(starts)]
    out = run_measured(argv, timeout=3600)
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mb"] = int(Path(rss_file).read_text().split()[-1]) / 1024
    os.unlink(rss_file)
    return result


def haplo_em(table, loci, timeout):
    """haplo.em with its defaults: (result dict), {"failed": exit status} when it died,
    or None when it ran past ``timeout``."""
    with tempfile.TemporaryDirectory() as folder:
        out_csv = Path(folder) / "freqs.csv"
        rss_file = Path(folder) / "rss"
        argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), "Rscript", str(R_SCRIPT),
                str(table), ",".join(loci), str(out_csv)]
        try:
            out = run_measured(argv, timeout)
        except ChildFailed as error:  # e.g. killed by the kernel for its memory
            return {"failed": error.returncode}
        if out is None:
            return None
        fields = dict(item.split("=") for item in out.split())
        with open(out_csv) as handle:
            rows = list(csv.reader(handle))
        freqs = {"-".join(row[:-1]): float(row[-1]) for row in rows[1:]}
        return {"loglik": float(fields["lnlike"]), "cpu": float(fields["cpu"]),
                "n_haps": int(fields["n_haps"]), "freqs": freqs,
                "rss_mb": int(rss_file.read_text().split()[-1]) / 1024}


def fit_cases():
    kg = loci_of(KG_TABLE)
    return [
        ("hla 3 loci (DQB,DRB,B)", HAPLO / "hla_demo.tsv", ["DQB", "DRB", "B"]),
        ("seqhap 10 SNPs", HAPLO / "seqhap_dat.tsv", loci_of(HAPLO / "seqhap_dat.tsv")),
        ("kg 20 SNPs", KG_TABLE, kg[:20]),
        ("kg 100 SNPs", KG_TABLE, kg),
        ("hla all 11 loci", HAPLO / "hla_demo.tsv", loci_of(HAPLO / "hla_demo.tsv")),
    ]


def fastest(runs):
    """The run with the least CPU time (the machine's noise only ever adds time)."""
    return min(runs, key=lambda run: run["cpu"])


def bench_fits(starts, peer_timeout, repeat):
    print(f"\n## Fits (emapps --starts {starts}, seed 0; haplo.em defaults; least CPU time "
          f"of {repeat} alternating runs each)\n")
    print("| case | emapps lnL | haplo.em lnL | delta lnL | emapps CPU s | haplo.em CPU s "
          "| CPU ratio ours/peer | emapps RSS MB | haplo.em RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, table, loci in fit_cases():
        mine_runs, peer_runs, peer = [], [], {}
        for _ in range(repeat):
            mine_runs.append(ours(table, loci, starts))
            peer = haplo_em(table, loci, peer_timeout)
            if peer is None or "failed" in peer:
                break
            peer_runs.append(peer)
        mine = fastest(mine_runs)
        if not peer_runs:
            status = (f"killed after {peer_timeout} s" if peer is None
                      else f"failed (exit status {peer['failed']})")
            print(f"| {name} | {mine['loglik']:.3f} | {status} | | {mine['cpu']:.2f} | "
                  f"{'> ' + str(peer_timeout) if peer is None else ''} | | "
                  f"{mine['rss_mb']:.0f} | |", flush=True)
            continue
        peer = fastest(peer_runs)
        print(f"| {name} | {mine['loglik']:.3f} | {peer['loglik']:.3f} | "
              f"{mine['loglik'] - peer['loglik']:+.3f} | {mine['cpu']:.2f} | {peer['cpu']:.2f} "
              f"| {mine['cpu'] / peer['cpu']:.3f} | {mine['rss_mb']:.0f} | "
              f"{peer['rss_mb']:.0f} |", flush=True)


def phased_truth(loci):
    """Haplotype frequencies of the phased VCF over ``loci`` (alleles coded 1/2)."""
    import pysam
    strands = {}
    with pysam.VariantFile(str(KG_PHASED)) as vcf:
        for record in vcf:
            if record.id in loci:
                strands[record.id] = [allele + 1 for call in record.samples.values()
                                      for allele in call["GT"]]
    haplotypes = ["-".join(str(strands[locus][k]) for locus in loci)
                  for k in range(len(strands[loci[0]]))]
    return {h: haplotypes.count(h) / len(haplotypes) for h in set(haplotypes)}


def distance(estimate, truth):
    keys = set(estimate) | set(truth)
    return sum(abs(estimate.get(k, 0.0) - truth.get(k, 0.0)) for k in keys)


def maximum_from_truth(loci, truth):
    """The local maximum EM reaches when started at the phased truth's frequencies (with
    column generation, as our fits end): (frequencies by label, its log-likelihood)."""
    import numpy as np

    from emapps.haplo import read_genotypes
    from emapps.haplo.estimate import Settings, final_stage
    genotypes = read_genotypes(KG_TABLE, loci=loci)
    distinct, counts = genotypes.collapse(np.ones(genotypes.n_subjects))
    labels = list(truth)
    codes = np.array([[names.index(allele) for names, allele
                       in zip(distinct.allele_names, label.split("-"))] for label in labels],
                     dtype=np.int16)
    settings = Settings()
    result = final_stage(codes, np.array([truth[label] for label in labels]), distinct,
                         counts, settings, settings.tol)
    freqs = {"-".join(distinct.allele_names[locus][code] for locus, code in enumerate(row)): f
             for row, f in zip(result.pairs.codes, result.freq)}
    return freqs, result.loglik


def bench_truth(starts):
    print("\n## Distance to the phased truth (sum |f - f_true|, mean over windows)\n")
    print("EM from the truth: the maximum EM climbs to when started at the phased truth's "
          "own frequencies.\n")
    print("| window | windows | emapps | haplo.em | EM from the truth | emapps lnL - haplo.em "
          "lnL (mean) | EM from the truth lnL - haplo.em lnL (mean) |")
    print("|---|---|---|---|---|---|---|")
    every = loci_of(KG_TABLE)
    for width in (5, 10, 20, 50):
        ours_d, peer_d, from_truth_d, gaps, truth_gaps = [], [], [], [], []
        for start in range(0, len(every) - width + 1, width):
            loci = every[start:start + width]
            truth = phased_truth(loci)
            mine, peer = ours(KG_TABLE, loci, starts), haplo_em(KG_TABLE, loci, 3600)
            from_truth, from_truth_loglik = maximum_from_truth(loci, truth)
            ours_d.append(distance(mine["freqs"], truth))
            peer_d.append(distance(peer["freqs"], truth))
            from_truth_d.append(distance(from_truth, truth))
            gaps.append(mine["loglik"] - peer["loglik"])
            truth_gaps.append(from_truth_loglik - peer["loglik"])
        print(f"| {width} SNPs | {len(ours_d)} | {fmean(ours_d):.4f} | {fmean(peer_d):.4f} | "
              f"{fmean(from_truth_d):.4f} | {fmean(gaps):+.3f} | {fmean(truth_gaps):+.3f} |",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--only", default="fit,truth")
    parser.add_argument("--peer-timeout", type=float, default=360.0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each fit per side; the least CPU time is reported")
    args = parser.parse_args()
    if not HAPLO.is_dir():
        sys.exit(f"{HAPLO} not found: the benchmark reads the shared data")
    sections = args.only.split(",")
    if "fit" in sections:
        bench_fits(args.starts, args.peer_timeout, args.repeat)
    if "truth" in sections:
        bench_truth(args.starts)


if __name__ == "__main__":
    main()
