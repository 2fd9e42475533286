"""A chromosome X test set made from the bundled 1000 Genomes slice: contig X, the
first and last stretches pseudo-autosomal, every other sample male (haploid outside the
PARs: its first haplotype)."""

import numpy as np
import pysam

from emapps.impute.io import read_calls

from ..conftest import DATA

#: the slice's positions that end PAR1 and start PAR2
PAR1_END, PAR2_START = 1_050_000, 1_230_000


def males(samples) -> np.ndarray:
    return np.arange(len(samples)) % 2 == 1


def x_specific(pos) -> np.ndarray:
    return (pos > PAR1_END) & (pos < PAR2_START)


def write_x(source, path, *, phased=True, male_diploid=False, sites_of=None) -> None:
    """The bundled ``source`` VCF as chromosome X (bgzipped and indexed), at the sites of
    the bundled ``sites_of`` only when given (a male's call: his first haplotype)."""
    calls = read_calls(DATA / "impute" / source)
    if sites_of is not None:
        wanted = set(read_calls(DATA / "impute" / sites_of).pos.tolist())
        calls = calls.subset_sites([s for s in range(calls.n_sites)
                                    if calls.pos[s] in wanted])
    male, inside = males(calls.samples), x_specific(calls.pos)
    separator = "|" if phased else "/"
    text = np.array([".", "0", "1"], dtype=object)
    first, second = text[calls.alleles[0] + 1], text[calls.alleles[1] + 1]
    diploid_cells = first + separator + second
    haploid_cells = first + separator + first if male_diploid else first
    cells = np.where(male[:, None] & inside[None, :], haploid_cells, diploid_cells)
    plain = path.with_suffix("")
    with open(plain, "w") as handle:
        handle.write('##fileformat=VCFv4.2\n##contig=<ID=X>\n##FORMAT=<ID=GT,Number=1,'
                     'Type=String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\t'
                     'FILTER\tINFO\tFORMAT\t' + "\t".join(calls.samples) + "\n")
        for s in range(calls.n_sites):
            handle.write(f"X\t{calls.pos[s]}\t{calls.ids[s]}\t{calls.ref[s]}\t{calls.alt[s]}"
                         f"\t.\t.\t.\tGT\t" + "\t".join(cells[:, s]) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    plain.unlink()


def write_sex_file(path, samples) -> None:
    path.write_text("".join(f"{sample}\t{'1' if male else '2'}\n"
                            for sample, male in zip(samples, males(samples))))
