"""A phased reference panel as imputation reads it: its sites and its haplotypes as
blocks of distinct sequences, from a VCF/BCF (streamed, never held as a byte per allele)
or from the compact file ``emapps impute convert`` writes (``.emref``: one file, its
arrays memory-mapped, checked against their checksums on load)."""

import hashlib
import json
import struct
from dataclasses import dataclass, field

import numpy as np

from .._version import __version__
from ..errors import UserInputError
from ..io.outputs import atomic_path
from ..io.selection import as_regions, region_interval
from ..io.vcf import ABSENT
from .io import Calls, RecordChunks, Sites, check_panel
from .panel_blocks import BlockBuilder, PanelBlocks, build_blocks
from .ploidy import PloidyMap, PloidyTracker, ploidy_map

#: the compact panel's first bytes, and its layout version
MAGIC = b"EMAPPS-REF\0"
FORMAT_VERSION = 2
#: versions this emapps reads (1: written before haploid calls were kept)
READABLE_VERSIONS = (1, 2)
SUFFIX = ".emref"
#: arrays start on multiples of this many bytes
ALIGN = 64
SITE_FIELDS = ("chrom", "pos", "ids", "ref", "alt")


@dataclass
class ReferencePanel(Sites):
    """Sites (S,) and the haplotypes of the panel's N samples as H = 2N haplotypes:
    haplotype c N + k is copy c of sample k.  Where a sample is haploid (``ploidy``),
    its second copy repeats its first and is left out of imputation."""

    blocks: PanelBlocks
    source: str = ""
    skipped: dict = field(default_factory=dict)
    #: (S,) each site's record in the panel's VCF (sites split from one multi-allelic
    #: record share it), or None when none was split
    records: np.ndarray | None = None
    ploidy: PloidyMap | None = None

    @property
    def n_haplotypes(self) -> int:
        return self.blocks.n_haplotypes

    def alt_frequency(self) -> np.ndarray:
        """(S,) the ALT allele's share of the panel's haplotypes at each site (a haploid
        sample's one)."""
        blocks, out = self.blocks, np.empty(self.n_sites)
        for block in range(blocks.bounds.shape[0] - 1):
            alleles = blocks.block_alleles(block)
            counts = np.bincount(blocks.labels[block], minlength=alleles.shape[0])
            out[blocks.bounds[block]:blocks.bounds[block + 1]] = counts @ alleles
        if self.ploidy is None:
            return out / self.n_haplotypes
        for stretch in range(self.ploidy.haploid.shape[0]):
            sites = np.arange(self.ploidy.bounds[stretch], self.ploidy.bounds[stretch + 1])
            repeated = len(self.samples) + np.flatnonzero(self.ploidy.haploid[stretch])
            out[sites] -= self.rows(sites)[:, repeated].sum(axis=1)
            out[sites] /= self.n_haplotypes - repeated.shape[0]
        return out

    def stretch(self, sites: slice, present) -> "ReferencePanel":
        """The panel at ``sites`` (a slice), with the haplotypes ``present`` only."""
        blocks = self.blocks.subset(np.arange(sites.start, sites.stop))
        blocks.labels = np.ascontiguousarray(blocks.labels[:, present])
        return ReferencePanel(*(getattr(self, name)[sites] for name in SITE_FIELDS),
                              self.samples, blocks, self.source, self.skipped,
                              None if self.records is None else self.records[sites])

    def rows(self, sites=None) -> np.ndarray:
        """(S', H) uint8 alleles at ``sites`` (all by default)."""
        return self.blocks.rows(np.arange(self.n_sites) if sites is None else sites)


def check_distinct_samples(target: Calls, panel: ReferencePanel) -> None:
    """A target sample must not be in its reference panel (it would copy itself)."""
    shared = sorted(set(target.samples) & set(panel.samples))
    if shared:
        raise UserInputError(f"{target.source}: {len(shared)} of its samples are in the "
                             f"reference panel {panel.source} too (first: {shared[0]}); "
                             f"remove them from one of the two")


def panel_from_calls(calls: Calls) -> ReferencePanel:
    """The panel of calls already read (complete and phased)."""
    check_panel(calls)
    tracker = PloidyTracker()
    tracker.add(calls.haploid)
    alleles = calls.as_diploid().alleles
    rows = np.concatenate([alleles[0], alleles[1]]).T
    return ReferencePanel(calls.chrom, calls.pos, calls.ids, calls.ref, calls.alt,
                          list(calls.samples), build_blocks(rows), calls.source,
                          dict(calls.skipped), calls.records, tracker.finish())


def read_panel(path, *, region=None, threads: int = 1) -> ReferencePanel:
    """A reference panel from a compact panel file or a VCF/BCF (its records streamed
    into blocks, multi-allelic ones split into biallelic sites); ``region`` as
    :func:`~emapps.impute.io.read_calls` takes it."""
    if is_compact(path):
        return load_panel(path, region=region)
    reading = RecordChunks(path, region=region, threads=threads, split=True)
    builder, sites, records = None, [[] for _ in SITE_FIELDS], []
    tracker = PloidyTracker()
    for chunk in reading:
        check_panel(Calls(*chunk.sites, reading.samples, chunk.alleles, chunk.phased,
                          source=reading.name))
        if builder is None:
            builder = BlockBuilder(2 * chunk.alleles.shape[1])
        first, second = chunk.alleles
        haploid = second == ABSENT
        tracker.add(haploid)
        rows = np.concatenate([first, np.where(haploid, first, second)]).T.astype(np.uint8)
        for row in np.ascontiguousarray(rows):
            builder.add(row)
        for values, part in zip(sites, chunk.sites):
            values.append(part)
        records.append(chunk.source)
    return ReferencePanel(*(np.concatenate(values) for values in sites), reading.samples,
                          builder.finish(), reading.name, reading.skipped,
                          np.concatenate(records) if reading.split else None,
                          tracker.finish())


# --------------------------------------------------------------- the compact file

def is_compact(path) -> bool:
    """Does ``path`` start as a compact panel file does?"""
    if path == "-":
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _arrays(panel: ReferencePanel) -> dict:
    blocks = panel.blocks
    arrays = {name: np.asarray(getattr(panel, name)) for name in SITE_FIELDS}
    arrays.update(bounds=blocks.bounds, labels=blocks.labels, alleles=blocks.alleles,
                  allele_ptr=blocks.allele_ptr)
    if panel.records is not None:
        arrays["records"] = panel.records
    if panel.ploidy is not None:
        arrays.update(ploidy_bounds=panel.ploidy.bounds, ploidy_haploid=panel.ploidy.haploid)
    return {name: np.ascontiguousarray(array) for name, array in arrays.items()}


def save_panel(panel: ReferencePanel, path, source_name="") -> int:
    """Write ``panel`` as one compact file (atomically); returns its size in bytes."""
    arrays = _arrays(panel)
    described, offset = {}, 0
    for name, array in arrays.items():
        described[name] = {"dtype": array.dtype.str, "shape": list(array.shape),
                           "offset": offset,
                           "sha256": hashlib.sha256(array.tobytes()).hexdigest()}
        offset += -(-array.nbytes // ALIGN) * ALIGN
    header = {"format_version": FORMAT_VERSION, "emapps_version": __version__,
              "source": source_name or panel.source, "samples": list(panel.samples),
              "contigs": list(dict.fromkeys(panel.chrom.tolist())),
              "n_sites": panel.n_sites, "n_haplotypes": panel.n_haplotypes,
              "skipped": panel.skipped, "arrays": described}
    text = json.dumps(header).encode()
    start = len(MAGIC) + 12 + len(text)
    start = -(-start // ALIGN) * ALIGN
    with atomic_path(path, suffix=SUFFIX) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(MAGIC + struct.pack("<IQ", FORMAT_VERSION, len(text)) + text)
            handle.write(b"\0" * (start - handle.tell()))
            for name, array in arrays.items():
                handle.seek(start + described[name]["offset"])
                handle.write(array.tobytes())
            size = handle.tell()
    return size


def load_panel(path, region=None) -> ReferencePanel:
    """A compact panel file, each array memory-mapped and checked against its checksum;
    ``region`` keeps the sites in it (bcftools' -r spelling)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(MAGIC) + 12)
            if head[:len(MAGIC)] != MAGIC:
                raise UserInputError(f"{path}: not an emapps compact panel")
            version, length = struct.unpack("<IQ", head[len(MAGIC):])
            if version not in READABLE_VERSIONS:
                raise UserInputError(f"{path}: compact panel version {version}; this emapps "
                                     f"reads versions {READABLE_VERSIONS[0]} to "
                                     f"{READABLE_VERSIONS[-1]} (convert the VCF again)")
            header = json.loads(handle.read(length))
        start = -(-(len(MAGIC) + 12 + length) // ALIGN) * ALIGN
        arrays = {}
        for name, spec in header["arrays"].items():
            shape = tuple(spec["shape"])
            if 0 in shape:
                arrays[name] = np.zeros(shape, dtype=spec["dtype"])
                continue
            arrays[name] = np.memmap(path, dtype=spec["dtype"], mode="r", shape=shape,
                                     offset=start + spec["offset"])
            if hashlib.sha256(arrays[name].tobytes()).hexdigest() != spec["sha256"]:
                raise UserInputError(f"{path}: the panel's {name} do not match their "
                                     f"checksum (a damaged or truncated file)")
    except UserInputError:
        raise
    except (OSError, ValueError, KeyError, TypeError, struct.error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise UserInputError(f"{path}: a truncated or damaged compact panel ({reason})") \
            from None
    blocks = PanelBlocks(*(np.asarray(arrays[name]) for name in
                           ("bounds", "labels", "alleles", "allele_ptr")))
    records = np.asarray(arrays["records"]) if "records" in arrays else None
    ploidy = (ploidy_map(np.asarray(arrays["ploidy_bounds"]),
                         np.asarray(arrays["ploidy_haploid"]))
              if "ploidy_bounds" in arrays else None)
    panel = ReferencePanel(*(np.asarray(arrays[name]) for name in SITE_FIELDS),
                           header["samples"], blocks, str(path), header.get("skipped", {}),
                           records, ploidy)
    if region is not None:
        panel = _in_regions(panel, as_regions(region), path)
    return panel


def _in_regions(panel: ReferencePanel, regions, path) -> ReferencePanel:
    """The panel's sites inside any of ``regions``."""
    keep = np.zeros(panel.n_sites, dtype=bool)
    for contig, start, end in map(region_interval, regions):
        keep |= ((panel.chrom == contig) & (panel.pos >= start)
                 & (panel.pos <= (np.inf if end is None else end)))
    if not keep.any():
        raise UserInputError(f"{path}: no sites in {', '.join(regions)}")
    sites = np.flatnonzero(keep)
    return ReferencePanel(*(getattr(panel, name)[sites] for name in SITE_FIELDS),
                          panel.samples, panel.blocks.subset(sites), panel.source,
                          panel.skipped,
                          None if panel.records is None else panel.records[sites],
                          None if panel.ploidy is None else panel.ploidy.subset(sites))
