"""Build the documentation site with MkDocs (the ``docs`` extra), warnings as errors.

The pages are the repository's own: README.md as the home page, the module pages of
docs/, workflows/README.md; the CLI reference is generated from the click commands
(mkdocs-click), the API reference from the docstrings (mkdocstrings), and the gallery
from a run of ``emapps demo`` on the bundled data (the pictures the demo draws).  They are
gathered into a scratch folder with a generated mkdocs.yml, so the repository keeps one
copy of each page.

    python docs/build.py [--site docs/_site] [--demo-out DIR (reuse a demo run)]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # site page: (source, title)
    "index.md": (ROOT / "README.md", "Home"),
    "mixture.md": (ROOT / "docs" / "mixture.md", "Mixtures, EM driver, Dask"),
    "impute.md": (ROOT / "docs" / "impute.md", "Genotype imputation"),
    "haplo.md": (ROOT / "docs" / "haplo.md", "Haplotype frequencies"),
    "admix.md": (ROOT / "docs" / "admix.md", "Ancestry proportions"),
    "lca.md": (ROOT / "docs" / "lca.md", "Latent classes, factor analysis"),
    "segment.md": (ROOT / "docs" / "segment.md", "Image segmentation"),
    "recsys.md": (ROOT / "docs" / "recsys.md", "Recommenders"),
    "workflows.md": (ROOT / "workflows" / "README.md", "Workflows"),
}
API = {  # heading: objects documented from their docstrings
    "Gaussian mixtures": ["emapps.mixture.GaussianMixture",
                          "emapps.mixture.selection.select_model"],
    "The EM driver": ["emapps.em.fit_em", "emapps.em.EMModel", "emapps.em.dask.DaskMap"],
    "Haplotype frequencies": ["emapps.haplo.HaplotypeEM", "emapps.haplo.read_genotypes"],
    "Genotype imputation": ["emapps.impute.impute", "emapps.impute.ReferenceImputer",
                            "emapps.impute.CohortCopier",
                            "emapps.impute.CohortImputer", "emapps.impute.Imputed",
                            "emapps.impute.read_calls", "emapps.impute.ligate.ligate"],
    "Ancestry proportions": ["emapps.admix.estimator.Admixture",
                             "emapps.admix.genotypes.read_genotypes"],
    "Latent class analysis": ["emapps.lca.LatentClassModel",
                              "emapps.lca.selection.select_classes",
                              "emapps.lca.three_step.three_step",
                              "emapps.factors.FactorAnalysis",
                              "emapps.factors.MixtureOfFactorAnalysers"],
    "Image segmentation": ["emapps.segment.ImageSegmenter", "emapps.segment.pixel_features",
                           "emapps.segment.score_against_annotators"],
    "Recommenders": ["emapps.recsys.FactorRecommender",
                     "emapps.recsys.ImplicitFactorRecommender",
                     "emapps.recsys.AspectRecommender",
                     "emapps.recsys.GaussianAspectRecommender",
                     "emapps.recsys.PoissonRecommender",
                     "emapps.recsys.MixtureRecommender"],
}
CLI_PAGE = """# Command line

Generated from the click commands.

::: mkdocs-click
    :module: emapps.cli
    :command: cli
    :prog_name: emapps
    :depth: 1
    :style: table
    :list_subcommands: true
"""


#: mkdocs-click prints click's "no default" sentinel (click >= 8.3) as a default: the
#: CLI reference shows "none" there instead
HOOKS = """
def on_page_content(html, **_):
    return html.replace("<code>Sentinel.UNSET</code>", "none")
"""


def config(source: Path, site: Path) -> str:
    nav = "\n".join(f"  - {title}: {page}" for page, (_, title) in PAGES.items())
    return f"""site_name: emapps
docs_dir: {source}
site_dir: {site}
strict: true
plugins:
  - mkdocstrings:
      handlers:
        python:
          paths: [{ROOT}]
          options:
            docstring_style: sphinx
            show_source: false
            members_order: source
markdown_extensions:
  - mkdocs-click
hooks:
  - {source.parent / "hooks.py"}
nav:
{nav}
  - Gallery: gallery.md
  - CLI reference: cli.md
  - API reference: api.md
"""


def gallery_page(source: Path, demo_out: Path | None, scratch: Path) -> None:
    """gallery.md and its pictures, from ``demo_out`` or a fresh demo run."""
    from emapps.cli.demo import demo_steps
    from emapps.cli.gallery import make_gallery, picture_code

    if demo_out is None:
        demo_out = scratch / "demo-out"
        subprocess.run([sys.executable, "-m", "emapps", "demo", "--data", str(ROOT / "data"),
                        "--outdir", str(demo_out)], check=True, capture_output=True)
    pictures = make_gallery(demo_out, source / "gallery", ROOT / "data")
    steps = demo_steps(Path("data"), Path("demo-out"), ["--plot", "demo-out/mixture"])
    (source / "gallery.md").write_text(
        "# Gallery\n\nDrawn by `emapps demo` from the bundled data (`demo-out/gallery/`); "
        "under each picture, the commands that made it.\n\n"
        + "\n".join(f"![{caption}](gallery/{name})\n\n{caption}\n\n{picture_code(name, steps)}"
                     for name, caption in pictures))


def build(site: Path, demo_out: Path | None = None) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "pages"
        source.mkdir()
        gallery_page(source, demo_out, Path(scratch))
        for page, (path, _) in PAGES.items():
            shutil.copyfile(path, source / page)
        if (ROOT / "docs" / "images").is_dir():
            shutil.copytree(ROOT / "docs" / "images", source / "images")
        (source / "cli.md").write_text(CLI_PAGE)
        (source / "api.md").write_text("# Python API\n\nGenerated from the docstrings.\n\n"
                                       + "\n".join(f"## {heading}\n\n" + "\n\n".join(
                                           f"::: {name}" for name in names) + "\n"
                                           for heading, names in API.items()))
        (Path(scratch) / "hooks.py").write_text(HOOKS)
        (Path(scratch) / "mkdocs.yml").write_text(config(source, site.resolve()))
        return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "-f",
                               str(Path(scratch) / "mkdocs.yml")]).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "docs" / "_site")
    parser.add_argument("--demo-out", type=Path, default=None,
                        help="a finished `emapps demo` output folder (default: run the demo)")
    arguments = parser.parse_args()
    sys.exit(build(arguments.site, arguments.demo_out))


if __name__ == "__main__":
    main()
