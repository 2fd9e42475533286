"""Rebuild this folder's slice from ../shared/data/genetics/impute/bench_inputs/array
(python data/impute/make_slice.py): the protocol's array experiment cut to
20:1,000,000-1,250,000, with the genetic map rows that cover it."""

import gzip
import sys
from pathlib import Path

import pysam

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1].parent / "shared" / "data" / "genetics" / "impute"
REGION = ("20", 1_000_000, 1_250_000)


def cut(name: str, out: str) -> None:
    with pysam.VariantFile(str(SOURCE / "bench_inputs" / "array" / name)) as source:
        with pysam.VariantFile(str(HERE / out), "wz", header=source.header) as sink:
            for record in source.fetch(*REGION):
                sink.write(record)
    pysam.tabix_index(str(HERE / out), preset="vcf", force=True)


def main() -> None:
    if not SOURCE.is_dir():
        sys.exit(f"{SOURCE} not found")
    cut("ref.vcf.gz", "ref.vcf.gz")
    cut("target.array.vcf.gz", "target.vcf.gz")
    cut("truth.vcf.gz", "truth.vcf.gz")
    rows = [line for line in (SOURCE / "chr20_0.5-4.5Mb.b37.plink.map").read_text().splitlines()
            if REGION[1] - 50_000 <= int(line.split()[3]) <= REGION[2] + 50_000]
    with gzip.open(HERE / "chr20.slice.plink.map.gz", "wt") as handle:
        handle.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
