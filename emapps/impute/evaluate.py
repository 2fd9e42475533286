"""Imputation experiments as commands: masking genotypes (an array design or random
missingness, seeded) and scoring an imputed file against the truth on the masked entries
(``../shared/protocols/impute.md``)."""

import numpy as np

from ..errors import UserInputError
from ..io.vcf import ABSENT
from .io import Calls
from .vcf_output import kept_header_lines

#: MAF bins of the protocol: [0, 1%), [1%, 5%), [5%, 50%]
MAF_BINS = ((0.0, 0.01, "<1%"), (0.01, 0.05, "1-5%"), (0.05, 0.5000001, ">=5%"))


def mask_array(calls: Calls, every: int, offset: int = 0) -> Calls:
    """Keep every ``every``-th site in position order (index % every == offset): an
    array design."""
    if every < 1 or not 0 <= offset < every:
        raise UserInputError(f"--every must be >= 1 and --offset in [0, every); got "
                             f"{every}, {offset}")
    return calls.subset_sites(np.flatnonzero(np.arange(calls.n_sites) % every == offset))


def mask_random(calls: Calls, rate: float, seed: int) -> tuple[Calls, int]:
    """Set each genotype call to missing with probability ``rate``, drawn site by site
    from one seeded generator; returns (masked calls, calls masked)."""
    if not 0.0 < rate < 1.0:
        raise UserInputError(f"--rate must be in (0, 1); got {rate}")
    rng = np.random.default_rng(seed)
    hidden = np.stack([rng.random(len(calls.samples)) < rate for _ in range(calls.n_sites)],
                      axis=1)
    alleles = np.where(hidden[None] & (calls.alleles != ABSENT), -1, calls.alleles)
    masked = Calls(calls.chrom, calls.pos, calls.ids, calls.ref, calls.alt, calls.samples,
                   alleles.astype(np.int8), calls.phased, calls.header, calls.source)
    return masked, int((hidden & (calls.genotypes() >= 0)).sum())


def unphased_vcf(calls: Calls, command="", version="") -> tuple[str, list]:
    """(header, record lines) of GT-only unphased calls, INFO left out."""
    header = kept_header_lines(calls, command, version)
    header = [line for line in header if not line.startswith("##INFO")]
    header.append("#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER",
                                   "INFO", "FORMAT", *calls.samples]))
    text = np.array([".", "0", "1"], dtype=object)
    first, second = text[calls.alleles[0] + 1], text[np.maximum(calls.alleles[1], -1) + 1]
    missing = calls.genotypes() < 0
    cells = np.where(calls.haploid, np.where(missing, ".", first),
                     np.where(missing, "./.", first + "/" + second))
    lines = [f"{calls.chrom[s]}\t{calls.pos[s]}\t{calls.ids[s]}\t{calls.ref[s]}\t"
             f"{calls.alt[s]}\t.\t.\t.\tGT\t" + "\t".join(cells[:, s]) + "\n"
             for s in range(calls.n_sites)]
    return "\n".join(header) + "\n", lines


def read_dosages(path, samples) -> tuple[dict, np.ndarray, np.ndarray]:
    """From an imputed VCF: ({site key: column}, dosages (N, S) with NaN where absent,
    best-guess genotypes (N, S) with -1, DR2 per site (NaN when absent)).  Dosage from
    DS, else GP, else GT; the best guess from GT, else the most probable GP, else DS."""
    from ..io.vcf import display_name, open_vcf

    name = display_name(path)
    with open_vcf(path) as vcf:
        header_samples = list(vcf.header.samples)
        index = {sample: k for k, sample in enumerate(header_samples)}
        missing = [sample for sample in samples if sample not in index]
        if missing:
            raise UserInputError(f"{name}: sample(s) {', '.join(missing[:5])} of the truth "
                                 f"are not in it; score its samples only with -s/-S")
        columns = np.array([index[sample] for sample in samples])
        keys, dosages, calls, quality = {}, [], [], []
        for record in vcf:
            if len(record.alts or ()) != 1:
                continue
            fields = str(record).rstrip("\n").split("\t")
            dosage, call = _record_dosages(fields[8].split(":"), fields[9:], name, record)
            keys[f"{record.chrom}:{record.pos}:{record.ref}:{record.alts[0]}"] = len(dosages)
            dosages.append(dosage[columns])
            calls.append(call[columns])
            quality.append(_info_number(fields[7], "DR2"))
    if not dosages:
        raise UserInputError(f"{name}: no biallelic records")
    return keys, np.array(dosages).T, np.array(calls).T, np.array(quality)


def _info_number(info, key):
    for item in info.split(";"):
        if item.startswith(key + "="):
            try:
                return float(item.split("=", 1)[1].split(",")[0])
            except ValueError:
                return np.nan
    return np.nan


def _record_dosages(keys, cells, name, record):
    dosage = np.full(len(cells), np.nan)
    call = np.full(len(cells), -1, dtype=np.int8)
    where = {key: k for k, key in enumerate(keys)}
    for column, cell in enumerate(cells):
        parts = cell.split(":")
        gt = parts[where["GT"]] if "GT" in where and where["GT"] < len(parts) else "."
        alleles = gt.replace("|", "/").split("/")
        if len(alleles) <= 2 and "." not in alleles:   # diploid or haploid
            call[column] = sum(int(allele != "0") for allele in alleles)
        try:
            if "DS" in where and parts[where["DS"]] != ".":
                dosage[column] = float(parts[where["DS"]])
            elif "GP" in where and parts[where["GP"]] != ".":
                probs = [float(value) for value in parts[where["GP"]].split(",")]
                dosage[column] = probs[1] + 2 * probs[2]
                if call[column] < 0:
                    call[column] = int(np.argmax(probs))
            elif call[column] >= 0:
                dosage[column] = call[column]
        except (ValueError, IndexError):
            raise UserInputError(f"{name}: {record.chrom}:{record.pos}: a malformed DS/GP "
                                 f"value {cell!r}") from None
        if call[column] < 0 and np.isfinite(dosage[column]):
            call[column] = int(np.rint(dosage[column]))
    return dosage, call


def score(imputed_path, truth: Calls, masked: Calls, reference=None) -> dict:
    """The protocol's metrics on the masked entries: truth calls absent from ``masked``
    (a site it lacks, or a call it has missing).  MAF bins from ``reference`` when
    given (a :class:`~emapps.impute.reference_panel.ReferencePanel`: array experiments),
    else from the truth cohort."""
    keys, dosages, calls, quality = read_dosages(imputed_path, truth.samples)
    true = truth.genotypes()                                  # (N, S)
    truth_keys = truth.keys()
    masked_index = {key: k for k, key in enumerate(masked.keys())}
    masked_samples = {sample: k for k, sample in enumerate(masked.samples)}
    rows = np.array([masked_samples.get(sample, -1) for sample in truth.samples])
    masked_genotypes = masked.genotypes()
    hidden = np.ones(true.shape, dtype=bool)
    for s, key in enumerate(truth_keys):
        k = masked_index.get(key)
        if k is not None:
            seen = rows >= 0
            hidden[seen, s] = masked_genotypes[rows[seen], k] < 0
    hidden &= true >= 0
    if reference is not None:
        source_keys, frequencies = reference.keys(), reference.alt_frequency()
    else:
        called = truth.alleles >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            frequencies = (np.where(called, truth.alleles, 0).sum(axis=(0, 1))
                           / called.sum(axis=(0, 1)))
        source_keys = truth_keys
    source_index = {key: k for k, key in enumerate(source_keys)}
    maf = np.full(truth.n_sites, np.nan)
    for s, key in enumerate(truth_keys):
        k = source_index.get(key)
        if k is not None:
            maf[s] = min(frequencies[k], 1 - frequencies[k])
    columns = np.array([keys.get(key, -1) for key in truth_keys])
    present = columns >= 0
    dosage = np.full(true.shape, np.nan)
    guess = np.full(true.shape, -1, dtype=np.int8)
    dosage[:, present] = dosages[:, columns[present]]
    guess[:, present] = calls[:, columns[present]]
    site_quality = np.full(truth.n_sites, np.nan)
    site_quality[present] = quality[columns[present]]
    table = {}
    all_r2, all_quality = [], []
    for low, high, label in MAF_BINS + ((0.0, 1.0, "all"),):
        in_bin = (maf >= low) & (maf < high)
        entries = hidden & in_bin[None, :]
        table[label] = _metrics(entries, dosage, guess, true)
        if label == "all":
            continue
        for s in np.flatnonzero(in_bin & entries.any(axis=0)):
            r2 = _site_r2(dosage[entries[:, s], s], true[entries[:, s], s])
            if r2 is not None:
                all_r2.append(r2)
                all_quality.append(site_quality[s])
    pairs = np.array([(q, r) for q, r in zip(all_quality, all_r2) if np.isfinite(q)])
    table["dr2_correlation"] = (float(np.corrcoef(pairs.T)[0, 1])
                                if len(pairs) > 2 and pairs[:, 0].std() > 0 else None)
    return table


def _site_r2(dosage, true):
    """Squared correlation of one site's dosages with the truth; None for a monomorphic
    truth, 0 for constant (or missing) dosages."""
    if true.size < 2 or true.std() == 0:
        return None
    if not np.all(np.isfinite(dosage)) or dosage.std() == 0:
        return 0.0
    return float(np.corrcoef(dosage, true)[0, 1] ** 2)


def _metrics(entries, dosage, guess, true) -> dict:
    n_entries = int(entries.sum())
    covered = entries & np.isfinite(dosage)
    site_r2 = [r2 for s in np.flatnonzero(entries.any(axis=0))
               if (r2 := _site_r2(dosage[entries[:, s], s], true[entries[:, s], s])) is not None]
    called = entries & (guess >= 0)
    nonref = called & ((true > 0) | (guess > 0))
    pooled = (float(np.corrcoef(dosage[covered], true[covered])[0, 1] ** 2)
              if covered.sum() > 2 and true[covered].std() > 0 and dosage[covered].std() > 0
              else None)
    return {"sites": int(entries.any(axis=0).sum()), "entries": n_entries,
            "coverage": float(covered.sum() / n_entries) if n_entries else None,
            "concordance": float((guess[called] == true[called]).mean()) if called.any()
            else None,
            "nonref_concordance": float((guess[nonref] == true[nonref]).mean())
            if nonref.any() else None,
            "r2_mean": float(np.mean(site_r2)) if site_r2 else None,
            "r2_sites": len(site_r2), "r2_pooled": pooled}
