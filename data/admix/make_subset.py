"""Cut the bundled admixture demo set from the developers' sim_dev panel (see
PROVENANCE.md): all 600 individuals, every 9th SNP."""

import shutil
import sys
from pathlib import Path

import numpy as np

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/genetics/structure")
HERE = Path(__file__).parent
STEP = 9

sys.path.insert(0, str(HERE.parent.parent))
from emapps.admix.genotypes import read_plink  # noqa: E402

panel = read_plink(SOURCE / "sim_dev")
rows = np.arange(0, panel.n_snps, STEP)
with open(HERE / "sim.bed", "wb") as handle:
    handle.write(bytes([0x6C, 0x1B, 0x01]) + np.ascontiguousarray(panel.packed[rows]).tobytes())
with open(SOURCE / "sim_dev.bim") as source, open(HERE / "sim.bim", "w") as out:
    out.writelines(line for k, line in enumerate(source) if k % STEP == 0)
shutil.copy(SOURCE / "sim_dev.fam", HERE / "sim.fam")
shutil.copy(SOURCE / "sim_dev.pops.tsv", HERE / "sim.pops.tsv")
shutil.copy(SOURCE / "sim_dev.Q.tsv", HERE / "sim.Q.tsv")
