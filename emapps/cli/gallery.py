"""The gallery: pictures of every module's demo outputs (needs the ``plot`` extra).

``emapps demo`` calls :func:`make_gallery` on its output folder, and ``docs/build.py``
puts the same pictures on the site's gallery page.
"""

import shutil
from pathlib import Path

import numpy as np

from ..mixture.plots import _pyplot, _save


def picture_code(name: str, steps: list) -> str:
    """Markdown showing how picture ``name`` was made: the demo commands (from
    :func:`emapps.cli.demo.demo_steps`) that wrote its data and, for a picture drawn here,
    the function that draws it."""
    import inspect

    chosen, drawer = SOURCES[name]
    commands = "\n".join(f"emapps {' '.join(argv)}" for argv in steps if chosen(argv))
    text = f"```sh\n{commands}\n```\n"
    if drawer is not None:
        text += f"\n```python\n{inspect.getsource(drawer)}```\n"
    return text


def make_gallery(demo_out, folder, data) -> list[tuple[str, str]]:
    """Draw or copy the pictures of a demo run (``demo_out``, made from the ``data``
    folder) into ``folder``; returns [(file name, caption)]."""
    demo_out, folder, data = Path(demo_out), Path(folder), Path(data)
    folder.mkdir(parents=True, exist_ok=True)
    pictures = [
        ("mixture_trace.png", "EM trace of the chosen Gaussian mixture (Old Faithful): "
         "the mean log-likelihood per iteration never decreases."),
        ("mixture_bic.png", "BIC against K for each covariance type (Old Faithful)."),
        ("segment_overlay.png", "HMRF-EM segmentation of a bundled image: region "
         "boundaries over the picture."),
        ("admix_proportions.png", "Ancestry proportions at K = 3 of 600 simulated "
         "individuals (AFR, EUR, ASIA and an admixed group), grouped by population."),
        ("lca_profiles.png", "Latent classes of the 2000 ANES election items (how well six "
         "traits describe Gore and Bush, 1 extremely well .. 4 not well at all): each "
         "class's answer probabilities, K chosen by BIC."),
    ]
    for (name, _), source in zip(pictures, (demo_out / "mixture" / "trace.png",
                                            demo_out / "mixture" / "criterion.png",
                                            demo_out / "segment" / "chelsea.overlay.png",
                                            demo_out / "admix" / "sim.3.png",
                                            demo_out / "lca" / "profiles.png")):
        shutil.copyfile(source, folder / name)
    plt = _pyplot()
    pictures.append(_haplotype_bars(plt, demo_out / "haplo" / "kg_chr20", folder))
    pictures.append(_imputation_r2(plt, demo_out / "impute", data / "impute", folder))
    pictures.append(_explanation(plt, demo_out / "recsys" / "implicit.npz", folder))
    return pictures


def _haplotype_bars(plt, prefix: Path, folder: Path) -> tuple[str, str]:
    rows = [line.split("\t") for line in
            prefix.with_suffix(".freqs.tsv").read_text().splitlines()[1:13]]
    labels = ["".join(row[1:-3]) for row in rows]
    frequency = np.array([float(row[-3]) for row in rows])
    error = np.array([float(row[-2]) for row in rows])
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.barh(range(len(rows))[::-1], frequency, xerr=error, color="tab:blue")
    axes.set_yticks(range(len(rows))[::-1], [f"h{k + 1}" for k in range(len(rows))])
    axes.set(xlabel="estimated frequency (± standard error)",
             title="Most frequent haplotypes, 300 samples x 100 SNPs (chr20)")
    figure.tight_layout()
    _save(figure, folder / "haplo_frequencies.png")
    plt.close(figure)
    (folder / "haplo_frequencies.txt").write_text(
        "\n".join(f"h{k + 1}\t{label}" for k, label in enumerate(labels)) + "\n")
    return ("haplo_frequencies.png", "The twelve most frequent haplotypes estimated by EM "
            "from unphased genotypes, with their standard errors.")


def _imputation_r2(plt, impute_out: Path, data: Path, folder: Path) -> tuple[str, str]:
    from ..impute.evaluate import score
    from ..impute.io import read_calls
    from ..impute.reference_panel import read_panel

    truth = read_calls(str(data / "truth.vcf.gz"))
    runs = {"panel mode (array design)": score(str(impute_out / "imputed.vcf.gz"), truth,
                                               read_calls(str(data / "target.vcf.gz")),
                                               read_panel(str(data / "ref.vcf.gz"))),
            "cohort mode (5% missing)": score(str(impute_out / "cohort.filled.vcf.gz"), truth,
                                              read_calls(str(impute_out /
                                                             "cohort.masked.vcf.gz")))}
    bins = ("<1%", "1-5%", ">=5%")
    figure, axes = plt.subplots(figsize=(6, 4))
    for offset, (name, table) in zip((-0.2, 0.2), runs.items()):
        values = [np.nan if table[label]["r2_mean"] is None else table[label]["r2_mean"]
                  for label in bins]   # no bar where no masked site varies
        axes.bar(np.arange(3) + offset, values, width=0.4, label=name)
    axes.set_xticks(range(3), [f"MAF {label}" for label in bins])
    axes.set(ylabel="mean dosage r2 per site", ylim=(0, 1),
             title="Imputation accuracy on the bundled 1000 Genomes slice")
    axes.legend(loc="lower right")
    figure.tight_layout()
    _save(figure, folder / "impute_r2.png")
    plt.close(figure)
    return ("impute_r2.png", "Dosage r2 of the masked genotypes by minor allele frequency, "
            "panel and cohort modes.")


def _explanation(plt, model_path: Path, folder: Path) -> tuple[str, str]:
    from ..recsys.registry import load_model

    model = load_model(str(model_path))
    user = model.user_ids_[0]
    item = model.recommend(user, 1)[0][0]
    reasons = model.explain(user, item, n=8)
    figure, axes = plt.subplots(figsize=(6, 4))
    support = reasons["items"]
    axes.barh(range(len(support))[::-1], [value for _, value in support], color="tab:green")
    axes.set_yticks(range(len(support))[::-1], [f"item {j}" for j, _ in support])
    axes.set(xlabel="contribution to the score",
             title=f"Why item {item} for user {user} (score {reasons['score']:.2f})")
    figure.tight_layout()
    _save(figure, folder / "recsys_explanation.png")
    plt.close(figure)
    return ("recsys_explanation.png", "A recommendation explained: the user's items whose "
            "terms add up to the weighted-MF score (synthetic ratings).")


#: each picture: which demo commands made its data, and the function that draws it here
#: (None where the command draws it itself)
SOURCES = {
    "mixture_trace.png": (lambda argv: argv[:2] == ["mixture", "fit"], None),
    "mixture_bic.png": (lambda argv: argv[:2] == ["mixture", "fit"], None),
    "segment_overlay.png": (lambda argv: argv[0] == "segment" and "--shared-model" not in argv,
                            None),
    "admix_proportions.png": (lambda argv: argv[0] == "admix", None),
    "lca_profiles.png": (lambda argv: argv[:2] == ["lca", "fit"], None),
    "haplo_frequencies.png": (lambda argv: argv[0] == "haplo", _haplotype_bars),
    "impute_r2.png": (lambda argv: argv[0] == "impute" and argv[1] != "score", _imputation_r2),
    "recsys_explanation.png": (lambda argv: argv[:2] == ["recsys", "fit"] and "implicit" in argv,
                               _explanation),
}
