import os
import subprocess
import sys
from pathlib import Path

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def run_snakemake(*arguments, cwd=None):
    """Snakemake in a child process with this environment's `emapps` on the PATH; fails
    the test with Snakemake's own messages."""
    environment = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    finished = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet",
                               *map(str, arguments)], cwd=cwd, env=environment,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
