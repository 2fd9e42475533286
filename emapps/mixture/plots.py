"""Diagnostic pictures for mixture fits (needs the ``plot`` extra: matplotlib)."""

from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..io.outputs import atomic_path


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserInputError("--plot needs matplotlib: pip install 'emapps[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(figure, path: Path) -> None:
    with atomic_path(path, suffix=".png") as temporary:
        figure.savefig(temporary, dpi=110, format="png")


def plot_selection(selection, folder) -> list[Path]:
    """criterion.png (criterion against K per covariance type) and trace.png (the chosen
    model's log-likelihood per iteration)."""
    plt = _pyplot()
    folder = Path(folder)
    criterion = selection.criterion
    figure, axes = plt.subplots(figsize=(6, 4))
    for covariance in dict.fromkeys(row["covariance"] for row in selection.rows):
        rows = [row for row in selection.rows if row["covariance"] == covariance and row["ok"]]
        axes.plot([row["k"] for row in rows], [row[criterion] for row in rows], "o-",
                  label=covariance)
    axes.set(xlabel="components K", ylabel=f"{criterion.upper()} (lower is better)",
             title=f"Model selection by {criterion.upper()}")
    axes.legend()
    figure.tight_layout()
    paths = [folder / "criterion.png", folder / "trace.png"]
    _save(figure, paths[0])
    plt.close(figure)
    best, chosen = selection.best, selection.best_row
    trace = np.asarray(best.result_.trace) / best.result_.weight
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(range(1, len(trace) + 1), trace, ".-")
    axes.set(xlabel="iteration", ylabel="mean log-likelihood",
             title=f"EM trace, K={chosen['k']} {chosen['covariance']}")
    figure.tight_layout()
    _save(figure, paths[1])
    plt.close(figure)
    return paths
