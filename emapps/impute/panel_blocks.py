"""A phased reference panel's haplotypes stored as blocks of distinct sequences: over a
run of consecutive sites the panel's haplotypes take few distinct allele sequences (at
most 255 a block), so each haplotype needs one byte per block, plus the sequences.  At
100,000 simulated haplotypes a block spans about 240 sites: the panel shrinks ~240-fold
against a byte per allele, and a site's imputation sums over sequences, not haplotypes."""

from dataclasses import dataclass

import numpy as np

from ..kernels.copying.blocks import MAX_SEQUENCES, next_labels


@dataclass
class PanelBlocks:
    """Blocks of a panel of H haplotypes over S sites."""

    bounds: np.ndarray      # (B + 1,) the blocks' first sites, then S
    labels: np.ndarray      # (B, H) uint8: each haplotype's sequence in each block
    alleles: np.ndarray     # (sum of sequences x sites over blocks,) uint8, block-major
    allele_ptr: np.ndarray  # (B + 1,) where each block's (sequences, sites) array starts

    @property
    def n_haplotypes(self) -> int:
        return self.labels.shape[1]

    @property
    def n_sites(self) -> int:
        return int(self.bounds[-1])

    def block_alleles(self, block) -> np.ndarray:
        """(sequences, sites) alleles of one block."""
        width = self.bounds[block + 1] - self.bounds[block]
        part = self.alleles[self.allele_ptr[block]:self.allele_ptr[block + 1]]
        return part.reshape(-1, width)

    def rows(self, sites) -> np.ndarray:
        """(len(sites), H) uint8 alleles of every haplotype at ``sites`` (ascending)."""
        sites = np.asarray(sites, dtype=np.int64)
        out = np.empty((sites.shape[0], self.n_haplotypes), dtype=np.uint8)
        block_of = np.searchsorted(self.bounds, sites, side="right") - 1
        for block in np.unique(block_of):
            chosen = np.flatnonzero(block_of == block)
            alleles = self.block_alleles(block)[:, sites[chosen] - self.bounds[block]]
            out[chosen] = alleles.T[:, self.labels[block]]
        return out

    def subset(self, sites) -> "PanelBlocks":
        """The blocks of ``sites`` (ascending) only: each block keeps its labels and its
        sequences' alleles at the sites kept (two sequences may then read alike, which
        changes no sum over them); blocks left without a site are dropped."""
        sites = np.asarray(sites, dtype=np.int64)
        block_of = np.searchsorted(self.bounds, sites, side="right") - 1
        kept, alleles = np.unique(block_of), []
        for block in kept:
            chosen = sites[block_of == block] - self.bounds[block]
            alleles.append(np.ascontiguousarray(self.block_alleles(block)[:, chosen])
                           .reshape(-1))
        sizes = np.bincount(np.searchsorted(kept, block_of), minlength=kept.shape[0])
        return PanelBlocks(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                           np.ascontiguousarray(self.labels[kept]),
                           np.concatenate(alleles),
                           np.concatenate([[0], np.cumsum([a.shape[0] for a in alleles])])
                           .astype(np.int64))

    def site_lists(self) -> tuple:
        """What blocks_impute reads per site: (labels, its block, in CSR form the
        sequences carrying its listed allele, that allele: the one on fewer sequences)."""
        block_of = np.repeat(np.arange(self.bounds.shape[0] - 1), np.diff(self.bounds))
        pointer, sequences, listed = [np.zeros(1, dtype=np.int64)], [], []
        for block in range(self.bounds.shape[0] - 1):
            alleles = self.block_alleles(block)              # (sequences, sites)
            alt_sequences = alleles.sum(axis=0)
            chosen = (2 * alt_sequences <= alleles.shape[0]).astype(np.int8)
            carrying = alleles.T == chosen[:, None]            # (sites, sequences)
            site, sequence = np.nonzero(carrying)
            sequences.append(sequence.astype(np.uint8))
            pointer.append(pointer[-1][-1] + np.cumsum(carrying.sum(axis=1)))
            listed.append(chosen)
        return (self.labels, block_of.astype(np.int64), np.concatenate(pointer),
                np.concatenate(sequences), np.concatenate(listed))


class BlockBuilder:
    """Blocks grown site by site (``add`` a row of H alleles), each while its
    haplotypes take at most 255 distinct sequences; ``finish`` gives the
    :class:`PanelBlocks`.  Only the open block's small tables are held, never the
    panel's rows."""

    def __init__(self, n_haplotypes: int):
        self.labels = np.zeros(n_haplotypes, dtype=np.uint8)
        self._next = np.empty(n_haplotypes, dtype=np.uint8)
        self._parent = np.empty(MAX_SEQUENCES, dtype=np.uint8)
        self._allele = np.empty(MAX_SEQUENCES, dtype=np.uint8)
        self._steps = []        # the open block: per site, (parent, allele) per sequence
        self.bounds, self.closed, self.alleles = [0], [], []

    def add(self, row) -> None:
        count = next_labels(row, self.labels, self._next, self._parent, self._allele)
        if count < 0:
            self._close()
            count = next_labels(row, self.labels, self._next, self._parent, self._allele)
        self._steps.append((self._parent[:count].copy(), self._allele[:count].copy()))
        self.labels, self._next = self._next, self.labels

    def _close(self) -> None:
        """Close the open block: its sequences' alleles traced back through the steps."""
        count = self._steps[-1][0].shape[0]
        alleles = np.empty((count, len(self._steps)), dtype=np.uint8)
        sequence = np.arange(count)
        for site in range(len(self._steps) - 1, -1, -1):
            parent, allele = self._steps[site]
            alleles[:, site] = allele[sequence]
            sequence = parent[sequence]
        self.alleles.append(alleles.reshape(-1))
        self.closed.append(self.labels.copy())
        self.bounds.append(self.bounds[-1] + len(self._steps))
        self._steps = []
        self.labels[:] = 0

    def finish(self) -> PanelBlocks:
        if self._steps:
            self._close()
        sizes = [part.shape[0] for part in self.alleles]
        labels = (np.stack(self.closed) if self.closed
                  else np.zeros((0, self.labels.shape[0]), dtype=np.uint8))
        return PanelBlocks(np.array(self.bounds, dtype=np.int64), labels,
                           np.concatenate(self.alleles or [np.zeros(0, dtype=np.uint8)]),
                           np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))


def build_blocks(rows) -> PanelBlocks:
    """Blocks of a panel given as (S, H) 0/1 rows."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    builder = BlockBuilder(rows.shape[1])
    for row in rows:
        builder.add(row)
    return builder.finish()
