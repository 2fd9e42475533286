"""Pictures of an admixture run (needs the ``plot`` extra: matplotlib): the stacked bar
chart of Q, individuals grouped by population and sorted by their main component, and
the cross-validation error against K."""

import numpy as np

from ..mixture.plots import _pyplot, _save


def plot_proportions(Q, path, labels=None, names=None) -> None:
    """Stacked bars of Q (N, K): grouped by ``labels`` when given (groups ordered by
    their main component), inside each group by the main component and its share."""
    plt = _pyplot()
    n, k = Q.shape
    labels = np.array(["" for _ in range(n)] if labels is None else labels, dtype=object)
    main = Q.argmax(axis=1)
    groups = list(dict.fromkeys(labels.tolist()))
    group_main = {group: np.bincount(main[labels == group], minlength=k).argmax()
                  for group in groups}
    groups.sort(key=lambda group: (group_main[group], -Q[labels == group,
                                                          group_main[group]].mean()))
    order = np.concatenate([
        np.flatnonzero(labels == group)[np.lexsort((-Q[labels == group].max(axis=1),
                                                    main[labels == group]))]
        for group in groups])
    figure, axes = plt.subplots(figsize=(min(16, 4 + n / 60), 3.2))
    bottom = np.zeros(n)
    colours = plt.get_cmap("tab10" if k <= 10 else "tab20")
    for component in range(k):
        axes.bar(np.arange(n), Q[order, component], bottom=bottom, width=1.0,
                 color=colours(component % colours.N), linewidth=0,
                 label=names[component] if names else f"component {component + 1}")
        bottom += Q[order, component]
    edges = np.cumsum([np.sum(labels == group) for group in groups])
    for edge in edges[:-1]:
        axes.axvline(edge - 0.5, color="black", linewidth=0.6)
    if labels is not None and len(groups) > 1:
        centres = edges - np.array([np.sum(labels == group) for group in groups]) / 2
        axes.set_xticks(centres - 0.5, groups, rotation=90, fontsize=7)
    else:
        axes.set_xticks([])
    axes.set(xlim=(-0.5, n - 0.5), ylim=(0, 1), ylabel="ancestry proportion",
             title=f"Ancestry proportions, K = {k}")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def plot_cross_validation(rows, path) -> None:
    """The cross-validation error (with its standard error) against K."""
    plt = _pyplot()
    rows = [row for row in rows if row.get("cv_error") is not None]
    figure, axes = plt.subplots(figsize=(5, 3.5))
    axes.errorbar([row["k"] for row in rows], [row["cv_error"] for row in rows],
                  yerr=[row["cv_standard_error"] for row in rows], fmt="o-", capsize=3)
    axes.set(xlabel="K", ylabel="cross-validation error (lower is better)",
             title="Choosing K")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
