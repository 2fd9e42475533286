"""VCF/BCF access shared by the genetics modules, through pysam: opening with clean
errors, region queries, and fast GT parsing from the records' text."""

from pathlib import Path

import numpy as np

from ..errors import UserInputError

#: byte value of an allele digit minus this gives the allele; '.' becomes negative
ZERO = ord("0")
PIPE, SLASH = ord("|"), ord("/")


def open_vcf(path, threads: int = 1):
    """A ``pysam.VariantFile`` for reading ``path`` ('-' for stdin), or a one-line error."""
    import pysam

    name = display_name(path)
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{name}: no such file")
    # plain gzip (not bgzip) is read as a stream, as stdin is: htslib cannot seek in it
    source = open(path, "rb") if path != "-" and _plain_gzip(path) else str(path)
    previous = pysam.set_verbosity(0)  # htslib's own messages would repeat ours
    try:
        vcf = pysam.VariantFile(source, threads=threads)
    except (OSError, ValueError) as error:
        raise UserInputError(f"{name}: not a readable VCF/BCF file ({error})") from None
    finally:
        pysam.set_verbosity(previous)
    if "GT" not in vcf.header.formats:
        vcf.close()
        raise UserInputError(f"{name}: the header declares no FORMAT/GT field")
    return vcf


def _plain_gzip(path) -> bool:
    """A gzip file whose first member lacks BGZF's 'BC' extra field (htslib cannot seek
    in it: opened by name, reading fails part-way)."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    is_gzip = head[:2] == b"\x1f\x8b"
    has_extra = len(head) > 3 and head[3] & 4
    return bool(is_gzip and not (has_extra and head[12:14] == b"BC"))


def display_name(path) -> str:
    return "<stdin>" if path == "-" else str(path)


def fetch(vcf, name, regions):
    """The records of ``regions`` (htslib region strings, in order; see
    :func:`emapps.io.selection.parse_regions`), or all of them when None."""
    if regions is None:
        return vcf
    return (record for region in regions for record in _fetch_one(vcf, name, region))


def _fetch_one(vcf, name, region):
    if vcf.compression == "GZIP":
        raise UserInputError(f"{name}: compressed with gzip, not bgzip, so -r/-R cannot "
                             f"seek in it; recompress and index it ('zcat {name} | bgzip > "
                             f"new.vcf.gz && bcftools index new.vcf.gz')")
    try:
        return vcf.fetch(region=region)
    except ValueError as error:
        if "index" in str(error).lower() or "without" in str(error).lower():
            raise UserInputError(f"{name}: -r/-R needs an index (.tbi or .csi) beside a "
                                 f"bgzipped file; make one with 'bcftools index'") from None
        raise UserInputError(f"{name}: region {region!r} is not in the file ({error})") \
            from None


def record_lines(vcf, path, name, regions):
    """The text lines of the records of ``regions`` (all when None).  A whole VCF file
    (plain or bgzipped) is read as lines through pysam's BGZF reader, seven times faster
    than decoding every record with htslib and spelling it again; BCF, stdin and regions
    go through the records."""
    import pysam

    if regions is None and path != "-" and vcf.format == "VCF" and vcf.compression in (
            "BGZF", "NONE"):
        return _text_records(pysam.BGZFile(str(path), "rb"))
    return (str(record) for record in fetch(vcf, name, regions))


def _text_records(handle):
    """Record lines of a text VCF: header and blank lines skipped, as htslib does."""
    with handle:
        for line in handle:
            if not line.startswith(b"#") and not line.isspace():
                yield line.decode()


#: the second allele code of a haploid call (the first is 0/1 or -1 when missing)
ABSENT = -2
TAB = ord("\t")


def genotype_calls(columns, sites, samples, name: str, n_alts=None) -> tuple:
    """(alleles (2, records, samples) int8 with -1 missing, phased (records, samples)
    bool) of records given as the text of their sample columns (``sites``: their (chrom,
    pos), for messages), each with ``n_alts`` ALT alleles (default 1: biallelic).  A
    haploid call (males' chromosome X) has ABSENT as its second allele and counts as
    phased; '.' alone is a missing call of either ploidy.  Records whose sample columns
    are GT-only one-digit calls are decoded together in vectorised steps, the rest call
    by call."""
    n_samples = len(samples)
    if n_alts is None:
        n_alts = np.ones(len(columns), dtype=np.int64)
    alleles = np.full((2, len(columns), n_samples), -1, dtype=np.int8)
    phased = np.zeros((len(columns), n_samples), dtype=bool)
    diploid = np.array([len(text) == 4 * n_samples - 1 and ":" not in text
                        for text in columns], dtype=bool)
    if diploid.any() and n_samples:
        _decode_diploid(columns, diploid, n_samples, n_alts, alleles, phased)
    simple = np.array([":" not in text for text in columns], dtype=bool) & ~diploid
    if simple.any() and n_samples:
        _decode_simple(columns, simple, n_samples, n_alts, alleles, phased)
    simple |= diploid
    for row in np.flatnonzero(~simple):
        cells = columns[row].split("\t")
        where = "{}:{}".format(*sites[row])
        if len(cells) != n_samples:
            raise UserInputError(f"{name}: {where} has {len(cells)} sample columns; the "
                                 f"header names {n_samples}")
        alleles[:, row], phased[row] = _calls_one_by_one(cells, samples, where, name,
                                                         n_alts[row])
    return alleles, phased


def _decode_diploid(columns, diploid, n_samples, n_alts, alleles, phased) -> None:
    """Decode the records flagged ``diploid`` (GT-only, 4 N - 1 characters) when all
    their calls are one-digit diploid calls (the common case, read without locating
    each column); the others are unflagged."""
    block = "\t".join(text for text, easy in zip(columns, diploid) if easy) + "\t"
    raw = np.frombuffer(block.encode(), dtype=np.uint8).reshape(-1, n_samples, 4)
    codes = raw[:, :, 0:3:2].transpose(2, 0, 1).astype(np.int8) - ZERO
    separator = raw[:, :, 1]
    pipes = separator == PIPE
    rows = np.flatnonzero(diploid)
    valid = ((pipes | (separator == SLASH)).all(axis=1) & (raw[:, :, 3] == TAB).all(axis=1)
             & (codes.max(axis=(0, 2)) <= n_alts[rows]))
    alleles[:, rows[valid]] = np.maximum(codes[:, valid], -1)
    phased[rows[valid]] = pipes[valid]
    diploid[rows[~valid]] = False


def _decode_simple(columns, simple, n_samples, n_alts, alleles, phased) -> None:
    """Decode the GT-only records flagged ``simple`` when all their calls are one-digit
    haploid or diploid calls; the others (other calls, the wrong number of columns) are
    flagged not simple, for the call-by-call path."""
    rows = np.flatnonzero(simple)
    texts = [columns[row] for row in rows]
    raw = np.frombuffer(("\t".join(texts) + "\t").encode(), dtype=np.uint8)
    ends = np.flatnonzero(raw == TAB)
    if ends.shape[0] != rows.shape[0] * n_samples:   # some record has other columns
        good = np.array([text.count("\t") + 1 == n_samples for text in texts])
        simple[rows[~good]] = False
        if good.any():
            _decode_simple(columns, simple, n_samples, n_alts, alleles, phased)
        return
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = (ends - starts).reshape(rows.shape[0], n_samples)
    starts = starts.reshape(rows.shape[0], n_samples)
    last = raw.shape[0] - 1
    diploid = lengths == 3
    first = raw[starts].astype(np.int16) - ZERO
    second = np.where(diploid, raw[np.minimum(starts + 2, last)].astype(np.int16) - ZERO,
                      ABSENT)
    separator = np.where(diploid, raw[np.minimum(starts + 1, last)], PIPE)
    pipes = separator == PIPE
    limit = n_alts[rows, None]
    dot = ord(".") - ZERO
    valid = (((lengths == 1) | (diploid & (pipes | (separator == SLASH))))
             & ((first == dot) | ((first >= 0) & (first <= limit)))
             & (~diploid | (second == dot) | ((second >= 0) & (second <= limit))))
    valid = valid.all(axis=1)
    first = np.maximum(first, -1)
    # a lone '.' is missing whatever the ploidy: both alleles -1
    second = np.where(diploid, np.maximum(second, -1), np.where(first < 0, -1, ABSENT))
    alleles[0, rows[valid]] = first[valid]
    alleles[1, rows[valid]] = second[valid]
    phased[rows[valid]] = (pipes & (diploid | (first >= 0)))[valid]   # '.' is unphased
    simple[rows[~valid]] = False


def _calls_one_by_one(fields, samples, where, name, n_alts=1):
    alleles = np.full((2, len(fields)), -1, dtype=np.int8)
    phased = np.zeros(len(fields), dtype=bool)
    for column, text in enumerate(fields):
        call = text.split(":", 1)[0]
        parts = call.replace("|", "/").split("/")
        if len(parts) > 2:
            raise UserInputError(f"{name}: {where} sample {samples[column]} has a "
                                 f"{len(parts)}-ploid call {call!r}; imputation takes "
                                 f"haploid and diploid genotypes")
        if parts == ["."]:
            continue
        phased[column] = "|" in call or len(parts) == 1
        if len(parts) == 1:
            alleles[1, column] = ABSENT
        for copy, part in enumerate(parts):
            if part == ".":
                continue
            if not part.isdigit() or int(part) > n_alts:
                raise UserInputError(f"{name}: {where} sample {samples[column]}: allele "
                                     f"{part!r} of a record with {n_alts} ALT allele"
                                     f"{'s' if n_alts > 1 else ''}")
            alleles[copy, column] = int(part)
    return alleles, phased


#: bytes of record text spelt per block of sites (bounds the memory of the writer)
RECORD_BLOCK_BYTES = 1 << 24


def _padded(texts: list[bytes]) -> np.ndarray:
    """(len(texts), longest) uint8 rows of the texts, padded with NUL bytes."""
    width = max(len(text) for text in texts)
    return np.frombuffer(b"".join(text.ljust(width, b"\0") for text in texts),
                         dtype=np.uint8).reshape(len(texts), width)


def _fields(texts: list[str]) -> np.ndarray:
    """The texts as one NUL-padded fixed-width byte string each (a 1-D void array)."""
    table = _padded([text.encode() for text in texts])
    return table.view(f"V{table.shape[1]}").ravel()


def genotype_records(prefixes: list[bytes], gt, dose, gp0, gp1, gp2, gt_text,
                     number_text):
    """Record lines of ``GT:DS:GP`` cells: prefixes[s] then, per sample n,
    gt_text[gt[n, s]] ':' number_text[dose[n, s]] ':' number_text[gp0[n, s]] ','
    number_text[gp1[n, s]] ',' number_text[gp2[n, s]], tab-separated and ended by a
    newline; a gp0 code past the table writes nothing (a haploid cell's two GP values).

    The (N, S) integer arrays index text tables, so no number is formatted cell by cell:
    a block of sites is laid out as NUL-padded rows (the prefix, then fixed-width cells
    gathered from three tables of field pairs), and one pass drops the padding.  Yields
    the text block by block (bytes), so a whole file is never held at once."""
    n_numbers = len(number_text)
    genotype_dose = _fields([f"{g}:{d}:" for g in gt_text for d in number_text])
    first_gp = _fields([f"{p}," for p in number_text] + [""])
    last_gps = _fields([f"{p},{q}" for p in number_text for q in number_text])
    cell = np.dtype([("genotype_dose", genotype_dose.dtype), ("first_gp", first_gp.dtype),
                     ("last_gps", last_gps.dtype), ("separator", np.uint8)])
    prefix_table = _padded(prefixes)
    width = prefix_table.shape[1]
    n_samples, n_sites = gt.shape
    block = max(1, RECORD_BLOCK_BYTES // (width + n_samples * cell.itemsize))
    for start in range(0, n_sites, block):
        sites = slice(start, min(n_sites, start + block))
        rows = np.zeros((sites.stop - sites.start, width + n_samples * cell.itemsize),
                        dtype=np.uint8)
        rows[:, :width] = prefix_table[sites]
        cells = rows[:, width:].view(cell)
        for name, table, codes in (
                ("genotype_dose", genotype_dose, gt[:, sites] * n_numbers + dose[:, sites]),
                ("first_gp", first_gp, gp0[:, sites]),
                ("last_gps", last_gps, gp1[:, sites] * n_numbers + gp2[:, sites])):
            np.take(table, codes.T, out=cells[name], mode="clip")
        cells["separator"] = ord("\t")
        cells["separator"][:, -1] = ord("\n")
        yield rows.tobytes().translate(None, b"\0")
