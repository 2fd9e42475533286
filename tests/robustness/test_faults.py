"""Faults while a run writes its files: a full disk at any write (injected through
EMAPPS_FAULT_AT_WRITE), Ctrl-C and a read-only folder.  Every earlier file stays as it
was, no temporary file is left, and the message is one line."""

import _thread
import hashlib
import os
import signal
import threading

import pytest

from emapps.io.outputs import FAULT_VARIABLE

from ..conftest import DATA, run_cli

COMMANDS = {   # each writes several files; {seed} differs between the runs compared
    "impute": ["impute", DATA / "impute" / "target.vcf.gz", "--ref",
               DATA / "impute" / "ref.vcf.gz", "-o", "{out}/i.vcf.gz", "--json",
               "{out}/i.json"],
    "impute mask": ["impute", "mask", DATA / "impute" / "truth.vcf.gz", "--design", "random",
                    "-o", "{out}/m.vcf.gz", "--json", "{out}/m.json"],
    "mixture fit": ["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "2",
                    "--init", "random", "-o", "{out}/m.npz", "--json", "{out}/m.json"],
    "mixture impute": ["mixture", "impute", DATA / "tabular" / "airquality.csv", "-k", "2",
                       "-o", "{out}/aq.csv", "--json", "{out}/aq.json"],
    "recsys fit": ["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-k", "2",
                   "--max-iter", "3", "-o", "{out}/r.npz", "--json", "{out}/r.json"],
    "haplo": ["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/h",
              "--loci", "rs7273237,rs4816142,rs2207321", "--json", "{out}/h.run.json"],
    "admix": ["admix", DATA / "admix" / "sim.bed", "-k", "2", "--init", "random", "-o",
              "{out}/a"],
    "segment": ["segment", DATA / "images" / "coffee.png", "-o", "{out}/s", "-k", "3",
                "--spatial", "none", "--fit-pixels", "2000"],
}


def snapshot(folder):
    """Every file under ``folder`` (hidden ones included) with its digest."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def argv_for(command, out, seed):
    return [*[str(part).replace("{out}", str(out)) for part in COMMANDS[command]],
            "--seed", str(seed), "-q"]


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_full_disk_at_any_write_leaves_the_earlier_run_as_it_was(command, tmp_path,
                                                                   capsys, monkeypatch):
    out = tmp_path / "out"
    status, _, err = run_cli(capsys, *argv_for(command, out, 1))
    assert status == 0, err
    before = snapshot(out)
    kept = {name: digest for name, digest in before.items() if "manifest" not in name}
    faults = 0
    for write in range(1, 30):
        monkeypatch.setenv(FAULT_VARIABLE, str(write))
        status, _, err = run_cli(capsys, *argv_for(command, out, 2))
        if status == 0:
            break
        faults += 1
        assert status == 1, err
        assert "No space left on device (injected)" in err
        assert len([line for line in err.splitlines() if "error" in line]) == 1, err
        after = snapshot(out)
        if command == "segment":   # the folder's manifest logs the failed image
            after = {name: digest for name, digest in after.items() if "manifest" not in name}
            assert after == kept, f"fault at write {write}"
        else:
            assert after == before, f"fault at write {write}"
    monkeypatch.delenv(FAULT_VARIABLE)
    assert status == 0 and faults >= 1, err
    final = snapshot(out)
    assert not any(name.split("/")[-1].startswith(".") for name in final)
    assert any(final.get(name) != digest for name, digest in kept.items())


def test_ctrl_c_during_a_fit_is_exit_130_and_writes_nothing(tmp_path, capsys):
    """Interrupted inside compiled kernels (admixture EM steps): 'interrupted', every time.
    Python's own Ctrl-C handler is installed for the test, as on a terminal: a run started
    in the background inherits SIGINT ignored, and then no interrupt arrives at all."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        status, out, err = run_cli(capsys, "admix", DATA / "admix" / "sim.bed", "-k", "4",
                                   "--init", "random", "--n-init", "20", "-o",
                                   tmp_path / "out" / "a", "--seed", "1", "-q")
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert status == 130 and err.strip() == "emapps: interrupted"
    assert snapshot(tmp_path) == {}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_one_line_before_any_work(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        status, out, err = run_cli(capsys, *argv_for("mixture fit", folder, 1))
    finally:
        folder.chmod(0o755)
    assert status == 2 and out == "" and "is not writable" in err
    assert len(err.strip().splitlines()) == 1 and snapshot(folder) == {}
