"""Snakemake wrapper for `emapps impute`: impute (and phase) a target VCF/BCF, from a
reference panel when the rule gives input `ref`, else from the cohort itself."""

from snakemake.shell import shell

inputs, params = snakemake.input, snakemake.params  # noqa: F821 (set by Snakemake)
ref = f"--ref {inputs.ref}" if inputs.get("ref") else ""
genetic_map = f"--map {inputs.map}" if inputs.get("map") else ""
region = f"--region {params.region}" if params.get("region") else ""
seed = f"--seed {params.seed}" if params.get("seed") is not None else ""
extra = params.get("extra", "")
log = snakemake.log_fmt_shell(stdout=False, stderr=True)  # noqa: F821

shell(
    "emapps impute {inputs.target} {ref} {genetic_map} {region} {seed} "
    "--threads {snakemake.threads} -o {snakemake.output[0]} {extra} {log}"
)
