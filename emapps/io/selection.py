"""Which samples and regions of a VCF/BCF to read, spelt as bcftools spells them.

Samples: ``-s A,B`` or ``-S FILE`` (one per line) keep those samples in that order;
``-s ^A,B`` or ``-S ^FILE`` keep every other sample, in file order.  Regions: ``-r
chr:beg-end,chr2`` (1-based, inclusive) or ``-R FILE`` (``CHROM BEG END`` or ``CHROM POS``
per line, tab- or space-separated, ``#`` comments); overlapping regions are merged so no
record is read twice.
"""

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError


@dataclass(frozen=True)
class SampleSelection:
    """Samples to keep (``names``, in that order), or to leave out (``exclude``)."""

    names: tuple
    exclude: bool = False

    def columns(self, available: list, source: str) -> list:
        """Indices into ``available`` of the selected samples; a name the file lacks is an
        error (as in bcftools without --force-samples)."""
        index = {name: column for column, name in enumerate(available)}
        unknown = [name for name in self.names if name not in index]
        if unknown:
            shown = ", ".join(unknown[:8]) + (f" ({len(unknown)} in all)"
                                              if len(unknown) > 8 else "")
            raise UserInputError(f"{source}: sample(s) not in the file: {shown}")
        if self.exclude:
            left_out = set(self.names)
            return [column for column, name in enumerate(available) if name not in left_out]
        return [index[name] for name in self.names]


def parse_samples(samples: str | None = None, samples_file: str | None = None
                  ) -> SampleSelection | None:
    """The selection of ``-s LIST`` or ``-S FILE`` (either may start with ^ to exclude);
    None for every sample."""
    if samples is not None and samples_file is not None:
        raise UserInputError("give -s/--samples or -S/--samples-file, not both")
    if samples is None and samples_file is None:
        return None
    text = samples if samples is not None else samples_file
    exclude = text.startswith("^")
    text = text[1:] if exclude else text
    if samples_file is not None or text.startswith("@"):   # @FILE: the older spelling
        path = Path(text[1:] if samples_file is None else text)
        try:
            names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip()]
        except (OSError, UnicodeDecodeError) as error:
            raise UserInputError(f"cannot read the samples file {path}: "
                                 f"{getattr(error, 'strerror', None) or error}") from None
    else:
        names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UserInputError("the sample selection names no sample")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserInputError(f"sample(s) named more than once: {', '.join(repeated[:8])}")
    return SampleSelection(tuple(names), exclude)


def as_selection(samples) -> SampleSelection | None:
    """A SampleSelection from what Python callers pass: None, a selection, or names."""
    if samples is None or isinstance(samples, SampleSelection):
        return samples
    if isinstance(samples, str):
        return parse_samples(samples)
    return SampleSelection(tuple(samples))


def _interval(text: str, where: str) -> tuple:
    chrom, _, span = text.strip().partition(":")
    if not chrom:
        raise UserInputError(f"{where}: {text!r} is not a region (CHROM, CHROM:POS or "
                             f"CHROM:BEG-END)")
    if not span:
        return chrom, 1, None
    begin, dash, end = span.partition("-")
    try:
        begin = int(begin)
        end = int(end) if end else (None if dash else begin)
    except ValueError:
        raise UserInputError(f"{where}: {text!r} is not a region (CHROM, CHROM:POS or "
                             f"CHROM:BEG-END)") from None
    if begin < 1 or (end is not None and end < begin):
        raise UserInputError(f"{where}: {text!r} needs 1 <= BEG <= END")
    return chrom, begin, end


def region_interval(text: str) -> tuple:
    """(chrom, begin, end) of one region string; end is None for the chromosome's end."""
    return _interval(text, "region")


def _merged(intervals: list) -> list:
    """Overlapping or touching intervals of one chromosome joined; chromosomes in the
    order first given, intervals sorted within each."""
    by_chrom: dict = {}
    for chrom, begin, end in intervals:
        by_chrom.setdefault(chrom, []).append((begin, float("inf") if end is None else end))
    merged = []
    for chrom, spans in by_chrom.items():
        spans.sort()
        current = list(spans[0])
        for begin, end in spans[1:]:
            if begin <= current[1] + 1:
                current[1] = max(current[1], end)
            else:
                merged.append((chrom, *current))
                current = [begin, end]
        merged.append((chrom, *current))
    return [f"{chrom}:{begin}-{end}" if end != float("inf") else
            (chrom if begin == 1 else f"{chrom}:{begin}") for chrom, begin, end in merged]


def parse_regions(regions: str | None = None, regions_file: str | None = None
                  ) -> list | None:
    """The regions of ``-r LIST`` or ``-R FILE`` as htslib region strings, merged; None
    for the whole file."""
    if regions is not None and regions_file is not None:
        raise UserInputError("give -r/--regions or -R/--regions-file, not both")
    if regions is not None:
        parts = [part for part in regions.split(",") if part.strip()]
        intervals = [_interval(part, "-r/--regions") for part in parts]
    elif regions_file is not None:
        intervals = _file_intervals(regions_file)
    else:
        return None
    if not intervals:
        raise UserInputError("the region selection names no region")
    return _merged(intervals)


def _file_intervals(path: str) -> list:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"cannot read the regions file {path}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
    intervals = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        where = f"{path}, line {number}"
        if len(fields) == 1:
            intervals.append(_interval(fields[0], where))
            continue
        try:
            begin = int(fields[1])
            end = int(fields[2]) if len(fields) > 2 else begin
        except ValueError:
            raise UserInputError(f"{where}: expected CHROM BEG [END], got {line!r}") from None
        if begin < 1 or end < begin:
            raise UserInputError(f"{where}: needs 1 <= BEG <= END, got {line!r}")
        intervals.append((fields[0], begin, end))
    return intervals


def as_regions(region) -> list | None:
    """Regions from what Python callers pass: None, one region string, or several."""
    if region is None:
        return None
    if isinstance(region, str):
        return parse_regions(region)
    return parse_regions(",".join(region))
