"""Compiled kernels are cached in the user cache folder, never in the package folder."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import emapps

SNIPPET = ("import numpy as np; from emapps.kernels.logspace import logsumexp_rows; "
           "print(logsumexp_rows(np.zeros((2, 3)))[0])")


def run(env_changes, cwd):
    env = {key: value for key, value in os.environ.items()
           if key not in ("NUMBA_CACHE_DIR", "EMAPPS_NUMBA_CACHE", "XDG_CACHE_HOME")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True,
                          env=env, cwd=cwd)


def package_copy(tmp_path):
    """A private copy of the package, so cache files cannot come from other runs."""
    target = tmp_path / "site" / "emapps"
    shutil.copytree(Path(emapps.__file__).parent, target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target.parent


def cache_files(folder):
    return [p for p in Path(folder).rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_cache_goes_to_the_user_cache_folder(tmp_path):
    site = package_copy(tmp_path)
    cache = tmp_path / "xdg"
    result = run({"XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(site)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert abs(float(result.stdout) - 1.0986) < 1e-3  # log 3
    assert cache_files(cache / "emapps" / "numba")
    assert not cache_files(site)


def test_changed_kernel_sources_get_a_fresh_cache_folder(tmp_path):
    site = package_copy(tmp_path)
    cache = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(site)}
    assert run(env, tmp_path).returncode == 0
    first = [p.name for p in (cache / "emapps" / "numba").iterdir()]
    kernel_source = site / "emapps" / "kernels" / "logspace.py"
    kernel_source.write_text(kernel_source.read_text() + "\n# edited\n")
    assert run(env, tmp_path).returncode == 0
    second = [p.name for p in (cache / "emapps" / "numba").iterdir()]
    assert len(first) == len(second) == 1 and first != second


def test_numba_cache_dir_wins_and_caching_can_be_turned_off(tmp_path):
    site = package_copy(tmp_path)
    chosen = tmp_path / "chosen"
    result = run({"NUMBA_CACHE_DIR": str(chosen), "PYTHONPATH": str(site),
                  "XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert cache_files(chosen) and not (tmp_path / "xdg").exists()
    off = run({"EMAPPS_NUMBA_CACHE": "0", "PYTHONPATH": str(site),
               "XDG_CACHE_HOME": str(tmp_path / "xdg2")}, tmp_path)
    assert off.returncode == 0, off.stderr
    assert not (tmp_path / "xdg2").exists() and not cache_files(site)


def test_unwritable_cache_location_still_runs(tmp_path):
    site = package_copy(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run({"XDG_CACHE_HOME": str(blocker / "cache"), "PYTHONPATH": str(site)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not cache_files(site)
