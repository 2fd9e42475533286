"""Pictures of a latent class fit (needs the ``plot`` extra: matplotlib): each class's
answer profile (poLCA's picture, as stacked bars: one bar per item, split by answer) and
the fit criteria against K."""

import numpy as np

from ..mixture.plots import _pyplot, _save


def plot_profiles(model, path) -> None:
    """One panel per class (its share in the title): for every item, a bar split into
    the probabilities of its answers, in the item's answer order (answer 1 at the
    bottom), the same position in the same colour."""
    plt = _pyplot()
    K = model.n_components
    items = model.item_names_
    widest = max((len(values) for values in model.categories_), default=1)
    colours = plt.get_cmap("viridis", max(widest, 2))
    figure, axes = plt.subplots(K, 1, figsize=(max(5, 1 + 0.45 * len(items)), 1.9 * K),
                                sharex=True, squeeze=False)
    for k in range(K):
        panel = axes[k, 0]
        for j, probabilities in enumerate(model.probabilities_):
            bottom = 0.0
            for c, value in enumerate(probabilities[k]):
                panel.bar(j, value, bottom=bottom, width=0.8, color=colours(c),
                          edgecolor="white", linewidth=0.5,
                          label=f"answer {c + 1}" if k == 0 and j == 0 else None)
                bottom += value
        panel.set(ylim=(0, 1), ylabel="probability",
                  title=f"class {k + 1} (share {model.weights_[k]:.3f})")
        panel.title.set_fontsize(9)
    axes[-1, 0].set_xticks(np.arange(len(items)), items, rotation=60, ha="right", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours(c)) for c in range(widest)]
    figure.legend(handles, [f"answer {c + 1}" for c in range(widest)], loc="upper center",
                  ncol=widest, fontsize=7, frameon=False, bbox_to_anchor=(0.5, 1.0))
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.25 / K))
    _save(figure, path)
    plt.close(figure)


def plot_criteria(rows, path) -> None:
    """BIC, AIC, CAIC and adjusted BIC against K (lower is better)."""
    plt = _pyplot()
    ks = [row["k"] for row in rows]
    figure, axes = plt.subplots(figsize=(5, 3.5))
    for key, label in (("bic", "BIC"), ("aic", "AIC"), ("caic", "CAIC"),
                       ("abic", "adjusted BIC")):
        axes.plot(ks, [row[key] for row in rows], "o-", label=label)
    axes.set(xlabel="number of classes K", ylabel="criterion (lower is better)",
             title="Choosing K")
    axes.set_xticks(ks)
    axes.legend(fontsize=8, frameon=False)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
