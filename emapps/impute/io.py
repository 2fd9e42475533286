"""Imputation input: haploid and diploid calls from VCF/BCF (pysam; multi-allelic records split on
request), the target-panel site match, and genetic maps (the output: vcf_output)."""

import gzip
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserInputError
from ..io.selection import as_regions, as_selection
from ..io.vcf import ABSENT, display_name, genotype_calls, open_vcf, record_lines

#: 1 cM per Mb when no genetic map is given
CM_PER_BP = 1e-6
#: call text decoded together (bytes)
CHUNK_BYTES = 64 << 20


@dataclass
class Sites:
    """Sites (M,) of one chromosome or more, and the samples they were read for."""

    chrom: np.ndarray         # (M,) str
    pos: np.ndarray           # (M,) int64
    ids: np.ndarray           # (M,) str
    ref: np.ndarray           # (M,) str
    alt: np.ndarray           # (M,) str
    samples: list

    @property
    def n_sites(self) -> int:
        return self.pos.shape[0]

    def keys(self) -> np.ndarray:
        """(M,) 'chrom:pos:ref:alt' of each site."""
        return np.array([f"{c}:{p}:{r}:{a}" for c, p, r, a in
                         zip(self.chrom, self.pos, self.ref, self.alt)])


@dataclass
class Calls(Sites):
    """Biallelic sites and the calls of one VCF: alleles[copy, sample, site] is 0/1, or
    -1 when missing; a haploid call's second copy is ABSENT."""

    alleles: np.ndarray       # (2, N, M) int8
    phased: np.ndarray        # (N, M) bool
    header: object = None     # the pysam header, for the output
    source: str = ""
    skipped: dict = field(default_factory=dict)
    #: (M,) each site's record in the file: sites split from one multi-allelic record
    #: share it (None when nothing was split)
    records: np.ndarray | None = None

    def genotypes(self) -> np.ndarray:
        """(N, M) ALT allele counts (0/1 for a haploid call), -1 where an allele is
        missing."""
        first, second = self.alleles
        total = first.astype(np.int16) + np.where(second == ABSENT, 0, second)
        return np.where((first < 0) | (second == -1), -1, total).astype(np.int8)

    @property
    def haploid(self) -> np.ndarray:
        """(N, M) bool: the call is haploid."""
        return self.alleles[1] == ABSENT

    def as_diploid(self) -> "Calls":
        """The calls with every haploid call read as a homozygous diploid one, as the
        copying model takes it."""
        first, second = self.alleles
        alleles = np.stack([first, np.where(second == ABSENT, first, second)])
        return Calls(self.chrom, self.pos, self.ids, self.ref, self.alt, self.samples,
                     alleles, self.phased, self.header, self.source, dict(self.skipped),
                     self.records)

    def subset_sites(self, keep) -> "Calls":
        keep = np.asarray(keep)
        return Calls(self.chrom[keep], self.pos[keep], self.ids[keep], self.ref[keep],
                     self.alt[keep], self.samples, self.alleles[:, :, keep],
                     self.phased[:, keep], self.header, self.source, dict(self.skipped),
                     None if self.records is None else self.records[keep])


def read_calls(path, *, region=None, samples=None, threads: int = 1,
               split: bool = False) -> Calls:
    """Biallelic records of a VCF/BCF ('-' for stdin), in file order; ALT-less records
    are skipped and counted, and so are multi-allelic ones unless ``split`` splits them
    into biallelic sites (see :class:`RecordChunks`).  Unsorted records are an error.

    ``region``: one region string or several (bcftools' -r spelling), None for all;
    ``samples``: sample names, a :class:`~emapps.io.selection.SampleSelection` (which may
    exclude), or None for all."""
    chunks = []
    reading = RecordChunks(path, region=region, samples=samples, threads=threads,
                           split=split)
    for chunk in reading:
        chunks.append(chunk)
    sites = [np.concatenate([chunk.sites[k] for chunk in chunks]) for k in range(5)]
    alleles = np.concatenate([chunk.alleles for chunk in chunks], axis=2)
    phased = np.concatenate([chunk.phased for chunk in chunks], axis=1)
    records = np.concatenate([chunk.source for chunk in chunks])
    return Calls(*sites, reading.samples, np.ascontiguousarray(alleles),
                 np.ascontiguousarray(phased), reading.header, reading.name,
                 reading.skipped, records if reading.split else None)


@dataclass
class CallChunk:
    """Consecutive records: sites (chrom, pos, ids, ref, alt arrays), alleles (2, N, R)
    int8 (-1 missing), phased (N, R) and each row's source record (R,): rows split from
    one multi-allelic record share it."""

    sites: tuple
    alleles: np.ndarray
    phased: np.ndarray
    source: np.ndarray


#: ALT alleles a record may have to be split (one digit each, in the int8 codes)
MAX_SPLIT_ALTS = 100


class RecordChunks:
    """The biallelic records of a VCF/BCF as :class:`CallChunk` s of about
    ``chunk_bytes`` of call text each (see :func:`read_calls`); after iterating,
    ``samples``, ``header``, ``skipped`` and ``split`` (multi-allelic records split)
    describe what was read.  With ``split``, a record with k ALT alleles becomes k
    biallelic rows, as ``bcftools norm -m-`` splits it: in the row of ALT i, allele i
    reads 1 and every other allele 0 (a spanning deletion '*' gets no row)."""

    def __init__(self, path, *, region=None, samples=None, threads: int = 1,
                 chunk_bytes: int = CHUNK_BYTES, split: bool = False):
        self.path, self.threads, self.chunk_bytes = path, threads, chunk_bytes
        self.name = display_name(path)
        self.regions, self.selection = as_regions(region), as_selection(samples)
        self.splitting = split
        self.samples, self.header = [], None
        self.skipped, self.split = {}, 0
        self._records = 0

    def __iter__(self):
        name = self.name
        with open_vcf(self.path, threads=self.threads) as vcf:
            header_samples = list(vcf.header.samples)
            if not header_samples:
                raise UserInputError(f"{name}: the file has no samples")
            columns = (np.arange(len(header_samples)) if self.selection is None
                       else np.array(self.selection.columns(header_samples, name),
                                     dtype=np.int64))
            self.samples = [header_samples[c] for c in columns]
            self.header = vcf.header.copy()
            skipped = {"multiallelic": 0, "no_alt": 0, "duplicate": 0}
            pending = [[], [], [], [], [], []]   # chrom, pos, id, ref, ALTs, call text
            finished, last, previous, size = set(), None, None, 0
            n_columns = 9 + len(header_samples)
            try:
                for line in record_lines(vcf, self.path, name, self.regions):
                    fields = line.split("\t", 9)
                    if len(fields) < 10:
                        raise ValueError(f"{len(fields)} columns, {n_columns} expected")
                    where = (fields[0], int(fields[1]))
                    if last is not None and where[0] != last[0]:
                        finished.add(last[0])
                    if where[0] in finished or (last is not None and where[0] == last[0]
                                                and where[1] < last[1]):
                        raise UserInputError(f"{name}: records are not sorted ({where[0]}:"
                                             f"{where[1]} after {last[0]}:{last[1]}); sort "
                                             f"with 'bcftools sort'")
                    last = where
                    alts = () if fields[4] == "." else tuple(fields[4].split(","))
                    usable = [alt for alt in alts if alt not in (".", "*")]
                    if not usable:
                        skipped["no_alt"] += 1
                        continue
                    if len(alts) > 1 and not (self.splitting
                                              and len(alts) <= MAX_SPLIT_ALTS):
                        skipped["multiallelic"] += 1
                        continue
                    if previous == (*where, fields[3], alts):
                        skipped["duplicate"] += 1   # the same site again: the first is kept
                        continue
                    previous = (*where, fields[3], alts)
                    for values, value in zip(pending, (where[0], where[1], fields[2],
                                                       fields[3], alts,
                                                       fields[9].rstrip("\r\n"))):
                        values.append(value)
                    size += len(fields[9])
                    if size >= self.chunk_bytes:   # decode the calls chunk by chunk
                        yield self._decode(pending, header_samples, columns)
                        pending, size = [[], [], [], [], [], []], 0
            except UserInputError:
                raise
            except (OSError, ValueError) as error:
                where = f" after {last[0]}:{last[1]}" if last else ""
                raise UserInputError(f"{name}: malformed VCF record{where} ({error})") \
                    from None
        self.skipped = {key: value for key, value in skipped.items() if value}
        if previous is None:
            raise UserInputError(f"{name}: no biallelic records"
                                 + (f" in {', '.join(self.regions)}" if self.regions else ""))
        if pending[0]:
            yield self._decode(pending, header_samples, columns)

    def _decode(self, pending, header_samples, columns) -> CallChunk:
        chrom, pos, ids, ref, alts, texts = pending
        n_alts = np.array([len(alleles) for alleles in alts], dtype=np.int64)
        codes, phased = genotype_calls(texts, list(zip(chrom, pos)), header_samples,
                                      self.name, n_alts)
        codes, phased = codes[:, :, columns], phased[:, columns]
        source = self._records + np.arange(len(texts))
        self._records += len(texts)
        rows = [(r, 1) for r in range(len(texts))] if n_alts.max() == 1 else [
            (r, allele) for r, alleles in enumerate(alts)
            for allele, alt in enumerate(alleles, start=1) if alt != "*"]
        records = np.array([r for r, _ in rows], dtype=np.int64)
        if n_alts.max() > 1:
            chosen = np.array([allele for _, allele in rows], dtype=np.int8)[None, :, None]
            picked = codes[:, records]
            codes = np.where(picked == ABSENT, ABSENT,
                             np.where(picked < 0, -1, (picked == chosen).astype(np.int8)))
            self.split += int(np.count_nonzero(n_alts > 1))
        sites = (np.array(chrom, dtype=str)[records], np.array(pos, dtype=np.int64)[records],
                 np.array(ids, dtype=str)[records], np.array(ref, dtype=str)[records],
                 np.array([alts[r][allele - 1] for r, allele in rows], dtype=str))
        return CallChunk(sites, codes.transpose(0, 2, 1), phased[records].T,
                         source[records])


def check_one_chromosome(calls: Calls) -> None:
    """Models run one chromosome at a time: a one-line error otherwise."""
    if len(set(calls.chrom)) != 1:
        raise UserInputError(f"{calls.source}: one chromosome at a time (use --region)")


# ------------------------------------------------------------------------- the panel

def check_panel(panel: Calls) -> None:
    """A reference panel must be phased and complete (haploid calls are phased)."""
    missing = np.argwhere((panel.alleles == -1).any(axis=0))
    if missing.size:
        sample, site = missing[0]
        raise UserInputError(f"{panel.source}: {panel.chrom[site]}:{panel.pos[site]} sample "
                             f"{panel.samples[sample]} has a missing allele; a reference panel "
                             f"must be complete")
    unphased = np.argwhere(~panel.phased)
    if unphased.size:
        sample, site = unphased[0]
        raise UserInputError(f"{panel.source}: {panel.chrom[site]}:{panel.pos[site]} sample "
                             f"{panel.samples[sample]} is unphased; a reference panel must be "
                             f"phased")


@dataclass
class SiteMatch:
    """Where the target's sites fall in the panel: ``typed`` panel indices of the target
    sites kept (in order), ``target_index`` their target indices, and what was dropped."""

    typed: np.ndarray
    target_index: np.ndarray
    dropped: dict


def match_sites(target: Calls, panel: Calls) -> SiteMatch:
    """Match target sites to panel sites by chromosome, position and alleles.  A target
    site at a panel position with other alleles (REF/ALT mismatch) and one absent from the
    panel are dropped and counted; a contig the panel lacks is an error."""
    missing_contigs = sorted(set(target.chrom) - set(panel.chrom))
    if missing_contigs:
        raise UserInputError(f"{target.source}: contig(s) {', '.join(missing_contigs[:5])} "
                             f"not in the reference panel {panel.source}")
    panel_index = {key: k for k, key in enumerate(panel.keys())}
    panel_positions = set(zip(panel.chrom.tolist(), panel.pos.tolist()))
    typed, kept, mismatched, absent = [], [], 0, 0
    for k, key in enumerate(target.keys()):
        if key in panel_index:
            typed.append(panel_index[key])
            kept.append(k)
        elif (target.chrom[k], int(target.pos[k])) in panel_positions:
            mismatched += 1
        else:
            absent += 1
    if not typed:
        raise UserInputError(f"{target.source}: none of its sites is in the reference panel "
                             f"{panel.source} (same chromosome, position, REF and ALT)")
    dropped = {name: value for name, value in
               (("allele_mismatch", mismatched), ("not_in_panel", absent)) if value}
    return SiteMatch(np.array(typed, dtype=np.int64), np.array(kept, dtype=np.int64), dropped)


# ----------------------------------------------------------------------- genetic map

#: column names of a map's header, as SHAPEIT, Eagle and Beagle users spell them
MAP_COLUMNS = {"pos": "bp", "position": "bp", "bp": "bp", "chr": "chrom", "chrom": "chrom",
               "cm": "cm", "genetic_map(cm)": "cm"}


def read_genetic_map(path) -> dict:
    """A genetic map (whitespace-separated, optionally gzipped) as {chrom: (bp, cM)}
    with positions sorted: PLINK (chrom, id, cM, bp: Beagle's format), or ``pos chr cM``
    (SHAPEIT 4/5), with or without its header (a header may order the columns)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    columns: dict = {}
    layout = None   # (chrom, cM, bp) field indices
    try:
        with opener(path, "rt") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                if layout is None:
                    named = [MAP_COLUMNS.get(field.lower()) for field in fields]
                    if len(fields) == 3 and sorted(filter(None, named)) == ["bp", "chrom", "cm"]:
                        layout = (named.index("chrom"), named.index("cm"), named.index("bp"))
                        continue
                    layout = {4: (0, 2, 3), 3: (1, 2, 0)}.get(len(fields))
                if layout is None or len(fields) != (4 if layout == (0, 2, 3) else 3):
                    raise UserInputError(f"{path}: line {number} has {len(fields)} fields; a "
                                         f"genetic map has chrom, id, cM, bp (PLINK) or pos, "
                                         f"chr, cM (SHAPEIT)")
                try:
                    cm, bp = float(fields[layout[1]]), int(fields[layout[2]])
                except ValueError:
                    raise UserInputError(f"{path}: line {number}: cM and bp must be numbers")\
                        from None
                if not np.isfinite(cm):
                    raise UserInputError(f"{path}: line {number}: cM is {fields[layout[1]]}")
                columns.setdefault(fields[layout[0]], []).append((bp, cm))
    except OSError as error:
        raise UserInputError(f"cannot read genetic map {path}: {error.strerror}") from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise UserInputError(f"{path}: not a text genetic map ({error})") from None
    if not columns:
        raise UserInputError(f"{path}: an empty genetic map")
    genetic_map = {}
    for chrom, rows in columns.items():
        rows = np.array(sorted(rows))
        if np.any(np.diff(rows[:, 1]) < 0):
            raise UserInputError(f"{path}: chromosome {chrom}: cM decreases along the map")
        genetic_map[chrom] = (rows[:, 0], rows[:, 1])
    return genetic_map


def genetic_positions(chrom, pos, genetic_map=None) -> np.ndarray:
    """cM of each site: linear interpolation in the map (its end rates beyond it), or
    1 cM per Mb without one."""
    centimorgans = pos * CM_PER_BP
    if genetic_map is None:
        return centimorgans
    for name in np.unique(chrom):
        if name not in genetic_map:
            raise UserInputError(f"the genetic map has no chromosome {name}")
        bp, cm = genetic_map[name]
        rows = chrom == name
        x = pos[rows].astype(float)
        inside = np.interp(x, bp, cm)
        if bp.shape[0] > 1:
            low_rate = (cm[1] - cm[0]) / max(bp[1] - bp[0], 1)
            high_rate = (cm[-1] - cm[-2]) / max(bp[-1] - bp[-2], 1)
            inside = np.where(x < bp[0], cm[0] - (bp[0] - x) * low_rate, inside)
            inside = np.where(x > bp[-1], cm[-1] + (x - bp[-1]) * high_rate, inside)
        centimorgans = centimorgans.copy()
        centimorgans[rows] = inside
    return centimorgans
