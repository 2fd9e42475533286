"""User errors in options shared by every command: one line on stderr, exit 2, no
output."""

import pytest

from ..conftest import DATA, run_cli

COMMANDS = {
    "mixture fit": ["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "2"],
    "haplo": ["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/h"],
    "impute": ["impute", DATA / "impute" / "target.vcf.gz", "-o", "{out}/i.vcf.gz"],
    "impute mask": ["impute", "mask", DATA / "impute" / "truth.vcf.gz", "--design", "random",
                    "-o", "{out}/m.vcf.gz"],
    "recsys fit": ["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", "{out}/r.npz"],
    "segment": ["segment", DATA / "images", "-o", "{out}/s"],
}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_negative_seed_is_one_line(command, tmp_path, capsys):
    argv = [str(part).replace("{out}", str(tmp_path)) for part in COMMANDS[command]]
    status, out, err = run_cli(capsys, *argv, "--seed", "-1")
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "--seed" in err
    assert list(tmp_path.iterdir()) == []


def test_explaining_an_unknown_item_prints_nothing_but_the_error(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run_cli(capsys, "recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", model,
                   "-k", "2", "--max-iter", "2", "--seed", "0", "-q")[0] == 0
    status, out, err = run_cli(capsys, "recsys", "explain", model, "--user", "1", "--item",
                               "nothing")
    assert status == 2 and out == "" and "unknown item id(s): nothing" in err


def test_a_row_of_empty_fields_is_refused_not_dropped(tmp_path, capsys):
    """Dropping it would shift every later prediction onto the wrong row."""
    table = tmp_path / "t.csv"
    lines = (DATA / "tabular" / "old_faithful.csv").read_text().splitlines()
    table.write_text("\n".join([*lines[:4], ",", *lines[4:]]) + "\n")
    for argv in (["mixture", "fit", table, "-k", "2", "-q"],
                 ["mixture", "impute", table, "-k", "1", "-o", tmp_path / "filled.csv"]):
        status, out, err = run_cli(capsys, *argv)
        assert status == 2 and out == ""
        assert err.strip() == (f"emapps: error: {table}, line 5: every field is empty; give "
                               f"the row's values or remove it (outputs are aligned by row)")
    assert not (tmp_path / "filled.csv").exists()
