"""The options every genetics command spells as bcftools does: -r/-R regions, -s/-S
samples (^ to exclude), -O output type and -W index (see :mod:`emapps.io.selection`)."""

import click

from ..io.selection import parse_regions, parse_samples


def regions_options(command):
    """-r/--regions (also --region) and -R/--regions-file, parsed into ``regions``."""
    command = click.option("-R", "--regions-file", default=None,
                           help="File of regions: CHROM BEG END or CHROM POS per line "
                                "(1-based, inclusive).")(command)
    return click.option("-r", "--regions", "--region", "regions", default=None,
                        help="Regions chr:beg-end, chr:pos or chr, comma-separated (needs "
                             "an index beside a bgzipped file).")(command)


def samples_options(command):
    """-s/--samples and -S/--samples-file (^ to exclude)."""
    command = click.option("-S", "--samples-file", default=None,
                           help="File of samples, one per line (^FILE: all but those).")(
        command)
    return click.option("-s", "--samples", default=None,
                        help="Comma-separated samples (^A,B: all but those).")(command)


def selections(regions, regions_file, samples, samples_file) -> tuple:
    """(regions, sample selection) from the four options, checked before any reading."""
    return parse_regions(regions, regions_file), parse_samples(samples, samples_file)


output_type_option = click.option(
    "-O", "--output-type", "output_type", default=None, type=click.Choice(["v", "z", "b", "u"]),
    help="v VCF, z bgzipped VCF, b BCF, u uncompressed BCF (default: from the file name).")



def write_index(command):
    """-W/--write-index (and --no-index, the same as -W none), passed on as ``index``."""
    command = click.option("--no-index", "index", flag_value="none",
                           help="Do not index the output (-W none).")(command)
    return click.option("-W", "--write-index", "index", default="auto", show_default=True,
                        type=click.Choice(["auto", "tbi", "csi", "none"]),
                        help="Index the output: .tbi for bgzipped VCF and .csi for BCF "
                             "(auto), or as named.")(command)
