"""Imputation input and output: biallelic diploid calls from VCF/BCF (pysam), the
target-panel site match, PLINK genetic maps, and the imputed VCF/BCF (Beagle's fields)."""

import gzip
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..io.outputs import atomic_path
from ..io.selection import as_regions, as_selection
from ..io.vcf import diploid_calls, display_name, genotype_records, open_vcf, record_lines

#: 1 cM per Mb when no genetic map is given
CM_PER_BP = 1e-6
#: call text decoded together (bytes)
CHUNK_BYTES = 64 << 20


@dataclass
class Calls:
    """Biallelic sites and diploid calls of one VCF: alleles[copy, sample, site] is 0/1,
    or -1 when missing."""

    chrom: np.ndarray         # (M,) str
    pos: np.ndarray           # (M,) int64
    ids: np.ndarray           # (M,) str
    ref: np.ndarray           # (M,) str
    alt: np.ndarray           # (M,) str
    samples: list
    alleles: np.ndarray       # (2, N, M) int8
    phased: np.ndarray        # (N, M) bool
    header: object = None     # the pysam header, for the output
    source: str = ""
    skipped: dict = field(default_factory=dict)

    @property
    def n_sites(self) -> int:
        return self.pos.shape[0]

    def genotypes(self) -> np.ndarray:
        """(N, M) alt-allele counts, -1 where either allele is missing."""
        total = self.alleles[0].astype(np.int16) + self.alleles[1]
        return np.where((self.alleles[0] < 0) | (self.alleles[1] < 0), -1, total).astype(np.int8)

    def keys(self) -> np.ndarray:
        return np.array([f"{c}:{p}:{r}:{a}" for c, p, r, a in
                         zip(self.chrom, self.pos, self.ref, self.alt)])

    def subset_sites(self, keep) -> "Calls":
        keep = np.asarray(keep)
        return Calls(self.chrom[keep], self.pos[keep], self.ids[keep], self.ref[keep],
                     self.alt[keep], self.samples, self.alleles[:, :, keep],
                     self.phased[:, keep], self.header, self.source, dict(self.skipped))


def read_calls(path, *, region=None, samples=None, threads: int = 1) -> Calls:
    """Biallelic records of a VCF/BCF ('-' for stdin), in file order; multi-allelic and
    ALT-less records are skipped and counted.  Unsorted records are an error.

    ``region``: one region string or several (bcftools' -r spelling), None for all;
    ``samples``: sample names, a :class:`~emapps.io.selection.SampleSelection` (which may
    exclude), or None for all."""
    chunks = []
    reading = RecordChunks(path, region=region, samples=samples, threads=threads)
    for chunk in reading:
        chunks.append(chunk)
    sites = [np.concatenate([chunk.sites[k] for chunk in chunks]) for k in range(5)]
    alleles = np.concatenate([chunk.alleles for chunk in chunks], axis=2)
    phased = np.concatenate([chunk.phased for chunk in chunks], axis=1)
    return Calls(*sites, reading.samples, np.ascontiguousarray(alleles),
                 np.ascontiguousarray(phased), reading.header, reading.name,
                 reading.skipped)


@dataclass
class CallChunk:
    """Consecutive records: sites (chrom, pos, ids, ref, alt arrays), alleles (2, N, R)
    int8 (-1 missing) and phased (N, R)."""

    sites: tuple
    alleles: np.ndarray
    phased: np.ndarray


class RecordChunks:
    """The biallelic records of a VCF/BCF as :class:`CallChunk` s of about
    ``chunk_bytes`` of call text each (see :func:`read_calls`); after iterating,
    ``samples``, ``header`` and ``skipped`` describe what was read."""

    def __init__(self, path, *, region=None, samples=None, threads: int = 1,
                 chunk_bytes: int = CHUNK_BYTES):
        self.path, self.threads, self.chunk_bytes = path, threads, chunk_bytes
        self.name = display_name(path)
        self.regions, self.selection = as_regions(region), as_selection(samples)
        self.samples, self.header = [], None
        self.skipped = {}

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
            pending = [[], [], [], [], [], []]   # chrom, pos, id, ref, alt, call text
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
                    alts = () if fields[4] == "." else fields[4].split(",")
                    if len(alts) != 1 or alts[0] in (".", "*"):
                        skipped["no_alt" if not alts else "multiallelic"] += 1
                        continue
                    if previous == (*where, fields[3], alts[0]):
                        skipped["duplicate"] += 1   # the same site again: the first is kept
                        continue
                    previous = (*where, fields[3], alts[0])
                    for values, value in zip(pending, (where[0], where[1], fields[2],
                                                       fields[3], alts[0],
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
        chrom, pos, ids, ref, alt, texts = pending
        alleles, phased = diploid_calls(texts, list(zip(chrom, pos)), header_samples,
                                        self.name)
        sites = (np.array(chrom, dtype=str), np.array(pos, dtype=np.int64),
                 np.array(ids, dtype=str), np.array(ref, dtype=str), np.array(alt, dtype=str))
        return CallChunk(sites, alleles[:, :, columns].transpose(0, 2, 1),
                         phased[:, columns].T)


def check_one_chromosome(calls: Calls) -> None:
    """Models run one chromosome at a time: a one-line error otherwise."""
    if len(set(calls.chrom)) != 1:
        raise UserInputError(f"{calls.source}: one chromosome at a time (use --region)")


# ------------------------------------------------------------------------- the panel

def check_panel(panel: Calls) -> None:
    """A reference panel must be phased and complete."""
    missing = np.argwhere((panel.alleles < 0).any(axis=0))
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


# --------------------------------------------------------------------------- output

OUTPUT_MODES = {"v": "w", "z": "wz", "b": "wb", "u": "wbu"}
#: output GT by code (the results' ``genotype_codes``)
GT_TEXT = ("0|0", "0|1", "1|0", "1|1", "0/0", "0/1", "1/1")


def output_type(path, requested=None) -> str:
    """-O v|z|b|u, else from the file name (.vcf.gz/.bgz z, .bcf b, otherwise v)."""
    if requested:
        if requested not in OUTPUT_MODES:
            raise UserInputError(f"-O must be one of v, z, b, u; got {requested!r}")
        return requested
    name = str(path).lower()
    if name.endswith((".vcf.gz", ".vcf.bgz", ".gz")):
        return "z"
    if name.endswith(".bcf"):
        return "b"
    return "v"


def _format_table(values: np.ndarray, digits: int) -> np.ndarray:
    """Strings of 0..values.max() in steps of 10^-digits, Beagle's style (no trailing
    zeros beyond what is needed)."""
    return np.array([f"{v:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{v:.{digits}f}"
                     else f"{v:.{digits}f}" for v in values], dtype=object)


def write_imputed(path, result, target: Calls, *, mode="v", command="", version="",
                  threads: int = 1, index: str = "auto") -> None:
    """The imputed VCF/BCF: the target's samples and header lines plus ##source, INFO
    AF/DR2/IMP and FORMAT GT (phased)/DS/GP (see :func:`write_vcf_text`)."""
    write_vcf_text(path, _header_text(target, result, command, version), _body_lines(result),
                   mode=mode, threads=threads, index=index)


#: index kinds of -W/--write-index; 'auto' is .tbi for bgzipped VCF, .csi for BCF
INDEX_KINDS = ("auto", "tbi", "csi", "none")


def index_kind(index: str, path, mode: str) -> str | None:
    """The index an output gets ('tbi', 'csi' or None) for -W/--write-index ``index``."""
    if index not in INDEX_KINDS:
        raise UserInputError(f"--write-index must be one of {', '.join(INDEX_KINDS)}; got "
                             f"{index!r}")
    indexable = path != "-" and mode in ("z", "b")
    if index == "none" or (index == "auto" and not indexable):
        return None
    if not indexable:
        raise UserInputError(f"--write-index {index}: only a bgzipped VCF or a BCF file can "
                             f"be indexed (use -O z or -O b)")
    if index == "tbi" and mode == "b":
        raise UserInputError("--write-index tbi: a BCF file is indexed as .csi")
    return {"auto": "tbi" if mode == "z" else "csi"}.get(index, index)


def index_paths(path) -> list[str]:
    """The index files an output may have beside it."""
    return [] if path in (None, "-") else [f"{path}.tbi", f"{path}.csi"]


def write_vcf_text(path, header_text: str, lines, *, mode="v", threads: int = 1,
                   index: str = "auto") -> None:
    """VCF text (header, record lines) written as VCF, bgzipped VCF (pysam's BGZF writer)
    or, through pysam's records, BCF (``mode`` v/z/b/u): to a temporary file renamed
    into place, with an index as ``index`` asks (see :func:`index_kind`); an index left
    from an earlier file at the same path is removed.  '-' writes to stdout."""
    import pysam

    kind = index_kind(index, path, mode)
    header_text = _with_pass_filter(header_text)
    for stale in index_paths(path):   # it would describe the file being replaced
        if not stale.endswith(f".{kind}"):
            Path(stale).unlink(missing_ok=True)
    if path != "-" and mode in ("v", "z"):
        with atomic_path(path) as temporary:
            with (open(temporary, "w") if mode == "v"
                  else _BgzfText(pysam.BGZFile(str(temporary), "wb"))) as handle:
                handle.write(header_text)
                handle.writelines(lines)
            if kind:
                _index(pysam, temporary, path, csi=kind == "csi")
        return
    with tempfile.TemporaryDirectory() as scratch:
        text_path = Path(scratch) / "records.vcf"
        with open(text_path, "w") as handle:
            handle.write(header_text)
            handle.writelines(lines)
        previous = pysam.set_verbosity(0)
        try:
            with pysam.VariantFile(str(text_path)) as source:
                if path == "-":
                    sys.stdout.flush()
                    with pysam.VariantFile("-", OUTPUT_MODES[mode], header=source.header) as out:
                        for record in source:
                            out.write(record)
                    return
                with atomic_path(path) as temporary:
                    with pysam.VariantFile(str(temporary), OUTPUT_MODES[mode],
                                           header=source.header, threads=threads) as out:
                        for record in source:
                            out.write(record)
                    if kind:
                        _index(pysam, temporary, path, csi=True)
        finally:
            pysam.set_verbosity(previous)


def _with_pass_filter(header_text: str) -> str:
    """The header with htslib's ##FILTER=<ID=PASS> line second, where pysam puts it."""
    first, *rest = header_text.split("\n")
    rest = [line for line in rest if not line.startswith("##FILTER=<ID=PASS,")]
    return "\n".join([first, '##FILTER=<ID=PASS,Description="All filters passed">', *rest])


class _BgzfText:
    """A text-mode context over a binary pysam.BGZFile."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, text: str):
        self.handle.write(text.encode())

    def writelines(self, texts):
        for text in texts:
            self.write(text)


def _index(pysam, temporary, path, csi: bool):
    suffix = ".csi" if csi else ".tbi"
    pysam.tabix_index(str(temporary), preset="vcf", force=True, csi=csi, keep_original=True)
    os.replace(f"{temporary}{suffix}", f"{path}{suffix}")


def kept_header_lines(calls: Calls, command="", version="", drop=()) -> list:
    """The header lines of ``calls``' file to carry over, after a fresh fileformat,
    ##source and command line: all but fileformat, source, contigs (rewritten from the
    records) and INFO/FORMAT definitions of the ids in ``drop``."""
    lines = ["##fileformat=VCFv4.2", f"##source=emapps-{version}"]
    if command:
        lines.append(f"##emapps_command={command}")
    for record in calls.header.records:
        if record.key in ("fileformat", "source") or record.type == "CONTIG" or (
                record.type in ("INFO", "FORMAT") and record.get("ID") in drop):
            continue
        lines.append(str(record).rstrip("\n"))
    lines += [f"##contig=<ID={chrom}>" for chrom in dict.fromkeys(calls.chrom.tolist())]
    return lines


def _header_text(target: Calls, result, command, version) -> str:
    lines = kept_header_lines(target, command, version,
                              drop={"AF", "DR2", "IMP", "GT", "DS", "GP"})
    lines = [line for line in lines if not line.startswith("##contig")]
    lines += [f"##contig=<ID={chrom}>" for chrom in dict.fromkeys(result.chrom.tolist())]
    lines += [
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Estimated ALT allele frequency">',
        '##INFO=<ID=DR2,Number=A,Type=Float,Description="Dosage R-squared: estimated squared '
        'correlation between estimated REF dose [P(RA) + 2*P(RR)] and true REF dose">',
        '##INFO=<ID=IMP,Number=0,Type=Flag,Description="Imputed marker">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="estimated ALT dose [P(RA) + '
        '2*P(AA)]">',
        '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Estimated Genotype Probability">',
        "#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                         "FORMAT", *target.samples])]
    return "\n".join(lines) + "\n"


def _body_lines(result):
    """Record lines (one string), two decimals as Beagle writes them; the sample cells
    are spelt from tables of the hundredths (codes within them: probabilities are in
    [0, 1], dosages in [0, 2])."""
    hundredths = _format_table(np.arange(201) / 100.0, 2)
    af = _format_table(np.arange(10001) / 10000.0, 4)[np.rint(result.alt_frequency * 10000)
                                                        .astype(np.int64)]
    dr2 = hundredths[np.rint(np.clip(result.dosage_r2, 0, 1) * 100).astype(np.int64)]
    prefixes = [f"{result.chrom[s]}\t{result.pos[s]}\t{result.ids[s]}\t{result.ref[s]}\t"
                f"{result.alt[s]}\t.\tPASS\tAF={af[s]};DR2={dr2[s]}"
                f"{';IMP' if result.imputed[s] else ''}\tGT:DS:GP\t".encode()
                for s in range(result.n_sites)]
    gp = [np.rint(probs * 100).astype(np.int64) for probs in result.genotype_probs()]
    text = genotype_records(prefixes, result.genotype_codes().astype(np.int64),
                            np.rint(result.dosage * 100).astype(np.int64), *gp, GT_TEXT,
                            list(hundredths))
    return [text.decode("ascii")]
