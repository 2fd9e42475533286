"""Population labels: ADMIXTURE's .pop files (one label per individual in .fam order,
'-' unknown) or tables with an individual id and a population column, for supervised
runs (reference individuals' ancestry fixed) and for ordering the bar plot."""

import numpy as np

from ..errors import UserInputError

UNKNOWN = ("-", "", "NA", "0", "?")


def read_labels(path, iid: list) -> np.ndarray:
    """(N,) each individual's label ('-' unknown), in ``iid`` order.  A file of N
    single-field lines is read in order (.pop); otherwise lines of fields hold an id
    (the second of three or more fields, as fid iid population; else the first) and the
    population (the last field), a header line allowed."""
    try:
        with open(path) as handle:
            rows = [line.split() for line in handle if line.strip()
                    and not line.startswith("#")]
    except OSError as error:
        raise UserInputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not a text population file") from None
    if rows and all(len(row) == 1 for row in rows):
        if len(rows) != len(iid):
            raise UserInputError(f"{path}: {len(rows)} labels for {len(iid)} individuals "
                                 f"(a .pop file has one line per individual, in .fam order)")
        return np.array([row[0] for row in rows], dtype=object)
    by_id = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise UserInputError(f"{path}: line {number}: expected an id and a population")
        by_id[row[1] if len(row) >= 3 else row[0]] = row[-1]
    unknown = [name for name in by_id if name not in set(iid)]
    header = rows[0][1] if len(rows[0]) >= 3 else rows[0][0]
    unknown = [name for name in unknown if name != header]
    if unknown:
        raise UserInputError(f"{path}: {len(unknown)} individuals are not in the genotypes "
                             f"(first: {unknown[0]})")
    return np.array([by_id.get(name, "-") for name in iid], dtype=object)


def supervised_components(labels, n_components: int) -> tuple:
    """(each individual's component, -1 for unknown; the components' population names in
    order of first appearance).  More populations than K is an error."""
    names = list(dict.fromkeys(label for label in labels if label not in UNKNOWN))
    if not names:
        raise UserInputError("the supervised labels name no population (all unknown)")
    if len(names) > n_components:
        raise UserInputError(f"the supervised labels name {len(names)} populations "
                             f"({', '.join(names[:6])}{'...' if len(names) > 6 else ''}) "
                             f"but K = {n_components}; K must be at least their number")
    index = {name: k for k, name in enumerate(names)}
    return np.array([index.get(label, -1) for label in labels]), names
