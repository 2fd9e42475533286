"""``emapps demo``: every module's command on the bundled ``data/``, outputs in one folder."""

import importlib.util
from pathlib import Path

import click

#: the bundled inputs the demo reads, under the data folder
INPUTS = {"faithful": "tabular/old_faithful.csv", "airquality": "tabular/airquality.csv",
          "images": "images", "kg": "haplo/kg_chr20_100snp_unphased.vcf",
          "synthetic": "recsys/synthetic_u.data", "genotypes": "impute",
          "structure": "admix/sim.bed", "survey": "lca/election.csv"}

#: the twelve candidate-trait items of poLCA's election data (Gore ...G, Bush ...B)
ELECTION_ITEMS = ",".join(f"{trait}{candidate}" for candidate in "GB" for trait in
                          ("MORAL", "CARES", "KNOW", "LEAD", "DISHON", "INTEL"))


@click.command()
@click.option("--data", "data_dir", default="data", show_default=True,
              help="The repository's data folder.")
@click.option("--outdir", default="demo-out", show_default=True)
def demo(data_dir, outdir):
    """Run the demo of every module on the bundled data."""
    from ..errors import UserInputError
    from . import main

    data, out = Path(data_dir), Path(outdir)
    for path in (data / relative for relative in INPUTS.values()):
        if not path.exists():
            raise UserInputError(f"{path} not found; run the demo from the repository root "
                                 f"or pass --data")
    plot = ["--plot", str(out / "mixture")]
    if importlib.util.find_spec("matplotlib") is None:
        plot = []
        click.echo("demo: matplotlib not installed, skipping plots", err=True)
    steps = demo_steps(data, out, plot)
    for argv in steps:
        click.echo(f"\n$ emapps {' '.join(argv)}", err=True)
        status = main(argv)
        if status:
            raise SystemExit(status)
    _summarise_haplotypes(out / "haplo" / "kg_chr20")
    click.echo(f"recsys top-5 for users 1-3 (synthetic ratings) -> {out}/recsys/top5.tsv")
    _summarise_segments(out / "segment")
    if plot:
        from .gallery import make_gallery
        pictures = make_gallery(out, out / "gallery", data)
        click.echo(f"gallery: {len(pictures)} pictures -> {out}/gallery/", err=True)
    click.echo(f"\ndemo outputs are in {out}/", err=True)


def demo_steps(data: Path, out: Path, plot: list) -> list[list[str]]:
    """The demo's commands (argv after ``emapps``), reading ``data`` and writing under
    ``out``; ``plot`` is ``["--plot", folder]`` or empty."""
    faithful, airquality, images, kg, synthetic, genotypes, structure, survey = (
        data / relative for relative in INPUTS.values())
    admix_plot = (["--plot", "--populations", str(structure.with_suffix(".pops.tsv"))]
                  if plot else [])
    return [
        ["mixture", "fit", str(faithful), "-k", "1..6", "--covariance", "all", "--seed", "1",
         "-o", str(out / "mixture" / "faithful.npz"),
         "--record", str(out / "mixture" / "faithful.run.json"), *plot],
        ["mixture", "predict", str(out / "mixture" / "faithful.npz"), str(faithful),
         "-o", str(out / "mixture" / "faithful.predictions.tsv")],
        ["mixture", "impute", str(airquality), "--columns", "Ozone,Solar.R,Wind,Temp",
         "-k", "1..4", "--covariance", "all", "--seed", "1",
         "-o", str(out / "mixture" / "airquality.filled.csv"),
         "--record", str(out / "mixture" / "airquality.run.json")],
        ["haplo", str(kg), "-o", str(out / "haplo" / "kg_chr20"), "--seed", "0"],
        ["impute", str(genotypes / "target.vcf.gz"), "--ref", str(genotypes / "ref.vcf.gz"),
         "--map", str(genotypes / "chr20.slice.plink.map.gz"), "-o",
         str(out / "impute" / "imputed.vcf.gz"), "--json", str(out / "impute" / "run.json"),
         "--seed", "0"],
        ["impute", "score", str(out / "impute" / "imputed.vcf.gz"), "--truth",
         str(genotypes / "truth.vcf.gz"), "--masked", str(genotypes / "target.vcf.gz"),
         "--ref", str(genotypes / "ref.vcf.gz")],
        ["impute", "mask", str(genotypes / "truth.vcf.gz"), "--design", "random", "--rate",
         "0.05", "--seed", "1", "-o", str(out / "impute" / "cohort.masked.vcf.gz")],
        ["impute", str(out / "impute" / "cohort.masked.vcf.gz"), "-o",
         str(out / "impute" / "cohort.filled.vcf.gz"), "--seed", "0"],
        ["impute", "score", str(out / "impute" / "cohort.filled.vcf.gz"), "--truth",
         str(genotypes / "truth.vcf.gz"), "--masked",
         str(out / "impute" / "cohort.masked.vcf.gz")],
        ["recsys", "fit", str(synthetic), "-o", str(out / "recsys" / "model.npz"),
         "--seed", "0"],
        ["recsys", "recommend", str(out / "recsys" / "model.npz"), "--users", "1,2,3",
         "-n", "5", "--seen", str(synthetic), "-o", str(out / "recsys" / "top5.tsv")],
        ["recsys", "fit", str(synthetic), "--model", "implicit", "--implicit-threshold", "4",
         "-o", str(out / "recsys" / "implicit.npz"), "--seed", "0"],
        ["recsys", "explain", str(out / "recsys" / "implicit.npz"), "--user", "1", "-n", "2",
         "--why", "2", "--seen", str(synthetic)],
        ["recsys", "explain", str(out / "recsys" / "model.npz"), "--user", "1", "--item",
         "50", "--why", "3"],
        ["segment", str(images), "-o", str(out / "segment"), "--seed", "0"],
        ["admix", str(structure), "-k", "2..3", "--cv", "5", "-o",
         str(out / "admix" / "sim"), "--seed", "1", *admix_plot],
        ["lca", "fit", str(survey), "--items", ELECTION_ITEMS, "-k", "1..4", "--n-init", "20",
         "--seed", "1", "-o", str(out / "lca" / "election.npz"), "--json",
         str(out / "lca" / "election.run.json"), *(["--plot", str(out / "lca")] if plot else [])],
        ["lca", "predict", str(out / "lca" / "election.npz"), str(survey), "-o",
         str(out / "lca" / "election.classes.tsv")],
        ["segment", str(images), "-o", str(out / "segment-shared"), "--shared-model",
         "-k", "3..6", "--criterion", "icl", "--seed", "0"],
    ]


def _summarise_haplotypes(prefix: Path, top: int = 5) -> None:
    """The most frequent haplotypes (alleles shortened) and the fit's log-likelihood."""
    import json

    record = json.loads(prefix.with_suffix(".json").read_text())
    rows = [line.split("\t") for line in
            prefix.with_suffix(".freqs.tsv").read_text().splitlines()[1:top + 1]]
    click.echo(f"haplo {record['n_subjects']} subjects x {record['n_loci']} SNPs: "
               f"log-likelihood {record['log_likelihood']:.3f}, "
               f"{record['n_haplotypes']} haplotypes; most frequent:")
    for row in rows:
        click.echo(f"  {''.join(row[1:-3])}  freq {float(row[-3]):.4f} (se {row[-2]})")
    click.echo(f"  -> {prefix}.freqs.tsv, .pairs.tsv, .ld.tsv, .json")


def _summarise_segments(folder: Path) -> None:
    """One line per segmented image from the manifest."""
    from ..segment.io import read_manifest

    for image, record in read_manifest(folder).items():
        click.echo(f"segment {image}: K={record['k']} beta={record['beta']:.2f} "
                   f"regions={record['n_regions']} iterations={record['n_iter']} "
                   f"-> {folder}/{Path(image).stem}.overlay.png")
