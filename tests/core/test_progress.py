"""Progress bars go to stderr on a terminal only: never into stdout, a log file or a
pipeline's captured output, and never under -q."""

import io
import sys

import pytest

from emapps.core.progress import progress_bar, step

from ..conftest import DATA


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar("step", total=3) as bar:
        assert bar is None and step(bar) is None
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("step", total=3, quiet=True) as bar:
        assert bar is None
    with progress_bar("step", total=3) as bar:
        for _ in range(3):
            step(bar)()
    assert "/3 " in terminal.getvalue() and "step/s" in terminal.getvalue()


@pytest.mark.parametrize("argv, unit", [
    (["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-k", "2", "--max-iter", "3",
      "--seed", "0", "-o", "{out}/r.npz"], "iteration"),
    (["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "1..3", "--seed", "0"],
     "model"),
    (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "--loci",
      "rs7273237,rs4816142", "--starts", "2", "-o", "{out}/h", "--seed", "0"], "start"),
    (["impute", DATA / "impute" / "target.vcf.gz", "--ref", DATA / "impute" / "ref.vcf.gz",
      "-r", "20:1000000-1030000", "-o", "{out}/i.vcf.gz"], "step"),
])
def test_long_commands_show_a_bar_on_a_terminal_and_none_under_q(argv, unit, tmp_path,
                                                                 monkeypatch, capsys):
    from emapps.cli import main

    argv = [str(part).replace("{out}", str(tmp_path)) for part in argv]
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    assert f"{unit}/s" in terminal.getvalue()
    assert unit not in capsys.readouterr().out
    terminal.seek(0)
    terminal.truncate()
    assert main([*argv, "-q"]) == 0
    assert "\r" not in terminal.getvalue()
