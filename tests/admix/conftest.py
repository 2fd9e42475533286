import numpy as np
import pysam
import pytest

from emapps.admix.genotypes import pack

from ..conftest import SHARED

STRUCTURE = SHARED / "data" / "genetics" / "structure"


def simulate(n=80, m=600, k=2, missing=0.02, seed=0):
    """A1 counts (N, M) drawn under the admixture model, with the true Q and F."""
    rng = np.random.default_rng(seed)
    Q = rng.dirichlet(np.full(k, 0.5), n)
    F = rng.beta(0.6, 0.6, (m, k)).clip(0.02, 0.98)
    counts = rng.binomial(2, Q @ F.T).astype(np.int8)
    counts[rng.random(counts.shape) < missing] = -1
    return counts, Q, F


def write_plink(prefix, counts, a1="A", a2="G"):
    n, m = counts.shape
    with open(f"{prefix}.bed", "wb") as handle:
        handle.write(bytes([0x6C, 0x1B, 0x01]) + pack(counts.T).tobytes())
    with open(f"{prefix}.fam", "w") as handle:
        handle.writelines(f"f{i} i{i} 0 0 0 -9\n" for i in range(n))
    with open(f"{prefix}.bim", "w") as handle:
        handle.writelines(f"1 s{j} 0 {1000 + j} {a1} {a2}\n" for j in range(m))


def write_vcf(path, counts):
    """The counts as unphased GT (ALT copies = A1 copies), bgzipped."""
    n, m = counts.shape
    text = path.with_suffix("")
    cells = np.array(["0/0", "0/1", "1/1", "./."])[np.where(counts < 0, 3, counts)]
    with open(text, "w") as handle:
        handle.write('##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type='
                     'String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\t'
                     'INFO\tFORMAT\t' + "\t".join(f"i{i}" for i in range(n)) + "\n")
        for j in range(m):
            handle.write(f"1\t{1000 + j}\ts{j}\tG\tA\t.\t.\t.\tGT\t" + "\t".join(cells[:, j])
                         + "\n")
    pysam.tabix_compress(str(text), str(path), force=True)
    text.unlink()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("admix")
    counts, Q, F = simulate()
    write_plink(folder / "sim", counts)
    return folder, counts, Q, F
