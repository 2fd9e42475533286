"""Ligating phased, imputed chunks of one chromosome into one VCF, as Beagle and GLIMPSE
users do with ``bcftools concat --ligate``.

Chunks overlap.  Each chunk's phase is arbitrary per sample, so at every junction the
sample's 20 heterozygotes nearest the cut that both chunks called are compared: when the
next chunk's first haplotype carries the other allele at more of them than not, its two
haplotypes are swapped, for the rest of the chromosome.  The junction falls in the middle of the
overlap: the earlier chunk gives the records up to it, the later one the records after.
"""

import numpy as np

from ..errors import UserInputError
from ..io.vcf import display_name, fetch, open_vcf
from .io import Calls, read_calls
from .vcf_output import write_vcf_text

#: heterozygotes (nearest the cut, called by both chunks) that decide a sample's swap
VOTERS = 20


def ligate(paths, output, *, mode="z", threads: int = 1, index: str = "auto",
           command: str = "") -> dict:
    """Write the chunks' records (VCF/BCF paths, overlapping, one chromosome) as one
    file; returns a summary with each junction's overlap and swapped samples."""
    if len(paths) < 1:
        raise UserInputError("ligate needs at least one chunk")
    ordered = sorted(((read_calls(path, threads=threads), path) for path in paths),
                     key=lambda pair: pair[0].pos[0])
    chunks = [calls for calls, _ in ordered]
    first = chunks[0]
    for chunk in chunks[1:]:
        if chunk.samples != first.samples:
            raise UserInputError(f"{chunk.source}: its samples differ from {first.source}'s")
        if set(chunk.chrom) != set(first.chrom) or len(set(chunk.chrom)) != 1:
            raise UserInputError(f"{chunk.source}: ligate joins chunks of one chromosome")
    swapped = np.zeros(len(first.samples), dtype=bool)
    swaps, cuts, junctions = [swapped], [], []
    for before, after in zip(chunks, chunks[1:]):
        if after.pos[0] <= before.pos[0] or after.pos[-1] <= before.pos[-1]:
            raise UserInputError(f"{after.source}: nested in {before.source}; chunks must "
                                 f"follow each other")
        local, shared, cut = _junction(before, after)
        swapped = swapped ^ local
        swaps.append(swapped)
        cuts.append(cut)
        junctions.append({"after": before.source, "before": after.source,
                          "overlap": shared, "cut": int(cut), "swapped": int(local.sum())})
    bounds = [-1] + cuts + [np.iinfo(np.int64).max]
    header = str(first.header)
    if command:
        header = header.replace("\n#CHROM", f"\n##emapps_ligate_command={command}\n#CHROM", 1)
    lines = _ligated_lines([path for _, path in ordered], bounds, swaps)
    write_vcf_text(output, header, lines, mode=mode, threads=threads, index=index)
    return {"chunks": len(chunks), "junctions": junctions}


def _junction(before: Calls, after: Calls) -> tuple:
    """(samples whose haplotypes ``after`` must swap to agree with ``before``, number of
    shared records, the last position taken from ``before``)."""
    keys_before = {key: k for k, key in enumerate(before.keys())}
    pairs = [(keys_before[key], k) for k, key in enumerate(after.keys())
             if key in keys_before]
    if not pairs:
        raise UserInputError(f"{before.source} and {after.source} share no records: chunks "
                             f"must overlap for their phase to be joined")
    left, right = np.array(pairs).T
    het_before = ((before.alleles[0][:, left] != before.alleles[1][:, left])
                  & before.phased[:, left] & ~before.haploid[:, left])
    het_after = ((after.alleles[0][:, right] != after.alleles[1][:, right])
                 & after.phased[:, right] & ~after.haploid[:, right])
    both = het_before & het_after & (before.alleles[0][:, left] >= 0)
    differ = before.alleles[0][:, left] != after.alleles[0][:, right]
    middle = (len(left) - 1) // 2
    local = np.zeros(len(before.samples), dtype=bool)
    for n, row in enumerate(both):   # the heterozygotes nearest the cut vote
        nearest = np.flatnonzero(row)
        nearest = nearest[np.argsort(np.abs(nearest - middle), kind="stable")[:VOTERS]]
        local[n] = 2 * differ[n, nearest].sum() > len(nearest)
    return local, len(pairs), before.pos[left[middle]]


def _ligated_lines(paths, bounds, swaps):
    """Record lines of each chunk inside its bounds, GT swapped for swapped samples."""
    for k, path in enumerate(paths):
        columns = 9 + np.flatnonzero(swaps[k])
        with open_vcf(path) as vcf:
            for record in fetch(vcf, display_name(path), None):
                if not bounds[k] < record.pos <= bounds[k + 1]:
                    continue
                line = str(record)
                if columns.size:
                    fields = line.rstrip("\n").split("\t")
                    for column in columns:
                        gt, colon, rest = fields[column].partition(":")
                        first_allele, bar, second_allele = gt.partition("|")
                        if bar:
                            fields[column] = f"{second_allele}|{first_allele}{colon}{rest}"
                    line = "\t".join(fields) + "\n"
                yield line
