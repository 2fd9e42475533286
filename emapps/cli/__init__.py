"""The ``emapps`` command: one click group, one lazily imported module per subcommand.

Nothing heavy is imported on the ``--help``/``--version`` path.  User errors
(``UserInputError``, click usage errors) print one line on stderr and exit 2, faults of
the system (a full disk, a folder that cannot be written) one line and exit 1;
results go to stdout or files, logs to stderr.
"""

import importlib
import sys
import warnings

import click

from .._version import __version__

SUBCOMMANDS = {
    "admix": ("emapps.admix.cli", "admix",
              "Ancestry proportions (ADMIXTURE's model): fit, cross-validate, project."),
    "mixture": ("emapps.mixture.cli", "mixture", "Gaussian mixtures: fit, select K, predict, impute."),
    "lca": ("emapps.lca.cli", "lca",
            "Latent class analysis of categorical answers: fit (K chosen), predict."),
    "haplo": ("emapps.haplo.cli", "haplo",
              "Haplotype frequencies from unphased genotypes (VCF/BCF or tables)."),
    "impute": ("emapps.impute.cli", "impute",
               "Impute and phase genotypes from a reference panel; mask and score."),
    "recsys": ("emapps.recsys.cli", "recsys",
               "Recommenders fitted by EM: fit, predict, recommend, evaluate."),
    "segment": ("emapps.segment.cli", "segment",
                "Segment images and folders (GMM or HMRF-EM); score against annotations."),
    "demo": ("emapps.cli.demo", "demo", "Run every module on the bundled data/."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attribute, _ = SUBCOMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx, formatter):
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", message="%(version)s")
def cli():
    """EM at work: mixtures, latent classes, haplotypes, imputation, ancestry,
    segmentation, recommenders."""


def main(argv=None) -> int:
    """Run the CLI; return the exit status (testable without a subprocess)."""
    from ..core.runtime import set_command_line
    from ..errors import UserInputError
    from ..io.outputs import count_writes_from_zero, output_set

    count_writes_from_zero()
    set_command_line(["emapps", *(sys.argv[1:] if argv is None else argv)])
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    _shown_warnings.clear()
    try:
        with output_set(independent=True):   # a run's files land together or not at all
            status = cli.main(args=argv, prog_name="emapps", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:   # click's form of Ctrl-C (and of EOF at a prompt)
        click.echo("emapps: interrupted", err=True)
        return 130
    except click.ClickException as error:
        context = f"{error.ctx.command_path}: " if getattr(error, "ctx", None) else "emapps: "
        message = " ".join(error.format_message().split())   # one line, as every error
        click.echo(f"{context}error: {message}", err=True)
        return 2
    except UserInputError as error:
        click.echo(f"emapps: error: {error}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("emapps: interrupted", err=True)
        return 130
    except SystemError as error:   # Ctrl-C inside a compiled kernel surfaces wrapped
        if isinstance(error.__cause__ or error.__context__, KeyboardInterrupt):
            click.echo("emapps: interrupted", err=True)
            return 130
        raise
    except OSError as error:   # a fault of the system, not of the input: a full disk...
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        click.echo(f"emapps: error: {error.strerror or error}{where}", err=True)
        return 1
    finally:
        set_command_line(None)
        warnings.showwarning = shown
    return status if isinstance(status, int) else 0


_shown_warnings: set = set()


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """A Python warning raised during a command, as one stderr line, once per run."""
    text = " ".join(str(message).split())
    if text not in _shown_warnings:
        _shown_warnings.add(text)
        click.echo(f"emapps: warning: {text}", err=True)


#: BLAS pools left to one thread for the command line (set before numpy loads): the
#: kernels run on emapps's own threads, and an idle OpenBLAS pool spins on the cores
#: they need (measured: 1.7x the CPU time of an admixture fit on 2 cores)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run() -> None:
    """Console-script entry point."""
    import os
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    sys.exit(main())
