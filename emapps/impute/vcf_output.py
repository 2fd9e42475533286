"""The imputed VCF/BCF (Beagle's fields: INFO AF/DR2/IMP, FORMAT GT/DS/GP) and VCF text
writing shared by the imputation commands: atomic, bgzipped or BCF, indexed."""

import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..io.outputs import atomic_path, commit_path, output_set
from ..io.vcf import genotype_records
from .io import Calls


OUTPUT_MODES = {"v": "w", "z": "wz", "b": "wb", "u": "wbu"}
#: output GT by code (the results' ``genotype_codes``; 7 and 8 haploid)
GT_TEXT = ("0|0", "0|1", "1|0", "1|1", "0/0", "0/1", "1/1", "0", "1")


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
        with output_set():   # the file, then its index
            with atomic_path(path) as temporary:
                with _BinaryText(open(temporary, "wb") if mode == "v"
                                 else pysam.BGZFile(str(temporary), "wb")) as handle:
                    handle.write(header_text)
                    handle.writelines(lines)
            if kind:
                _index(pysam, temporary, path, csi=kind == "csi")
        return
    with tempfile.TemporaryDirectory() as scratch:
        text_path = Path(scratch) / "records.vcf"
        with _BinaryText(open(text_path, "wb")) as handle:
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
                with output_set():
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


class _BinaryText:
    """A context over a binary handle (a file, pysam.BGZFile) that writes text (str,
    encoded) and bytes as they are."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, text):
        self.handle.write(text.encode() if isinstance(text, str) else text)

    def writelines(self, texts):
        for text in texts:
            self.write(text)


def _index(pysam, temporary, path, csi: bool):
    """Index the finished temporary file (waiting in an output set) as ``path``'s."""
    suffix = ".csi" if csi else ".tbi"
    pysam.tabix_index(str(temporary), preset="vcf", force=True, csi=csi, keep_original=True)
    commit_path(f"{temporary}{suffix}", f"{path}{suffix}")


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
    """Record text (bytes, piece by piece), two decimals as Beagle writes them.  Sites
    split from one multi-allelic record (``result.source_records``) are joined back into
    it, as ``bcftools norm -m+`` joins them (see :func:`_joined_line`)."""
    hundredths = _format_table(np.arange(201) / 100.0, 2)
    fields = _site_fields(result, hundredths)
    n_sites = result.n_sites
    records = getattr(result, "source_records", None)
    starts = ([] if records is None
              else np.flatnonzero(np.diff(records, prepend=-1, append=-1) != 0))
    if records is None or len(starts) == n_sites + 1:     # nothing to join
        yield from _biallelic_text(result, fields, hundredths, slice(0, n_sites))
        return
    done = 0
    for lo, hi in zip(starts[:-1], starts[1:]):
        if hi - lo < 2:
            continue
        if lo > done:
            yield from _biallelic_text(result, fields, hundredths, slice(done, lo))
        yield _joined_line(result, fields, hundredths, lo, hi).encode()
        done = hi
    if done < n_sites:
        yield from _biallelic_text(result, fields, hundredths, slice(done, n_sites))


def _site_fields(result, hundredths) -> dict:
    """Every site's INFO values as text, and its cells' table codes."""
    af = _format_table(np.arange(10001) / 10000.0, 4)[np.rint(result.alt_frequency * 10000)
                                                        .astype(np.int64)]
    dr2 = hundredths[np.rint(np.clip(result.dosage_r2, 0, 1) * 100).astype(np.int64)]
    gt, ds, *gp = result.cell_codes()
    return {"af": af, "dr2": dr2, "gt": gt, "ds": ds, "gp": gp}


def _biallelic_text(result, fields, hundredths, sites: slice):
    prefixes = [f"{result.chrom[s]}\t{result.pos[s]}\t{result.ids[s]}\t{result.ref[s]}\t"
                f"{result.alt[s]}\t.\tPASS\tAF={fields['af'][s]};DR2={fields['dr2'][s]}"
                f"{';IMP' if result.imputed[s] else ''}\tGT:DS:GP\t".encode()
                for s in range(sites.start, sites.stop)]
    return genotype_records(prefixes, fields["gt"][:, sites], fields["ds"][:, sites],
                            *(gp[:, sites] for gp in fields["gp"]), GT_TEXT,
                            list(hundredths))


def _joined_line(result, fields, hundredths, lo, hi) -> str:
    """One record of the k = hi - lo ALT alleles of sites lo..hi - 1.  Each haplotype's
    allele probabilities are its ALT probabilities at the k sites (scaled down if they sum
    past 1) and REF the rest: GT takes each haplotype's likeliest allele, DS the ALT
    doses, GP the k (k + 1) / 2 + k + 1 genotypes in VCF order (a haploid call: its
    one allele, its k + 1 allele probabilities); AF and DR2 are the split sites' own."""
    first, second = (np.asarray(probs[:, lo:hi], dtype=float)
                     for probs in result.haplotype_probs[:2])
    alleles = []
    for alts in (first, second):
        total = alts.sum(axis=1, keepdims=True)
        alts = alts / np.maximum(total, 1.0)
        alleles.append(np.column_stack([1.0 - alts.sum(axis=1), alts]))
    one, two = alleles                                        # (N, k + 1) each
    n_alleles = hi - lo + 1
    pairs = [(j, i) for i in range(n_alleles) for j in range(i + 1)]
    genotype = np.column_stack([one[:, j] * two[:, i] + (one[:, i] * two[:, j] if i != j
                                                         else 0.0) for j, i in pairs])
    haploid = (np.zeros(one.shape[0], dtype=bool) if getattr(result, "haploid", None) is None
               else result.haploid[:, lo])
    dose = np.rint((one[:, 1:] + np.where(haploid[:, None], 0, two[:, 1:])) * 100
                   ).astype(np.int64)
    gp = np.rint(genotype * 100).astype(np.int64)
    haploid_gp = np.rint(one * 100).astype(np.int64)
    calls = np.where(haploid, one.argmax(axis=1).astype(str),
                     np.char.add(np.char.add(one.argmax(axis=1).astype(str), "|"),
                                 two.argmax(axis=1).astype(str)))
    cells = "\t".join(f"{call}:{','.join(hundredths[dose[n]])}:"
                      f"{','.join(hundredths[(haploid_gp if haploid[n] else gp)[n]])}"
                      for n, call in enumerate(calls))
    info = (f"AF={','.join(fields['af'][lo:hi])};DR2={','.join(fields['dr2'][lo:hi])}"
            f"{';IMP' if result.imputed[lo:hi].any() else ''}")
    return (f"{result.chrom[lo]}\t{result.pos[lo]}\t{result.ids[lo]}\t{result.ref[lo]}\t"
            f"{','.join(result.alt[lo:hi])}\t.\tPASS\t{info}\tGT:DS:GP\t{cells}\n")
