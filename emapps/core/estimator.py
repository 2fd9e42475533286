"""The base every emapps estimator shares: scikit-learn's estimator contract, one way to
take a seed, one fitted check and one run record.

scikit-learn is not needed to use an estimator; when scikit-learn asks
(``clone``, ``Pipeline``, ``GridSearchCV``, ``check_is_fitted``), the answers are the
ones its own estimators give.
"""

import inspect
import warnings

import numpy as np

from ..errors import NotFittedError, UserInputError

#: old keyword -> its name now; the old spelling still works, with a FutureWarning
RENAMED_KEYWORDS = {"seed": "random_state", "n_starts": "n_init"}


def seed_sequence(random_state) -> np.random.SeedSequence:
    """A ``SeedSequence`` from what a user may pass as ``random_state``.

    None draws fresh entropy, an int (or a ``SeedSequence``) is used as it is, and a
    ``Generator`` or ``RandomState`` gives a seed drawn from it, so successive fits with
    one generator differ, as in scikit-learn.  The sequence's ``entropy`` is what a run
    records as its seed.

    >>> int(seed_sequence(7).entropy), int(seed_sequence(np.random.SeedSequence(7)).entropy)
    (7, 7)
    """
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return random_state if random_state is not None else np.random.SeedSequence()
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(np.iinfo(np.int64).max)))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return np.random.SeedSequence(int(random_state))
    raise UserInputError(f"random_state must be None, a non-negative integer, a "
                         f"SeedSequence or a Generator; got {random_state!r}")


def take_renamed_keywords(estimator, given: dict) -> None:
    """Apply old keyword spellings (``seed=``, ``n_starts=``) with a FutureWarning; any
    other unknown keyword is a TypeError, as Python would raise."""
    for old, value in given.items():
        if old not in RENAMED_KEYWORDS or not hasattr(estimator, RENAMED_KEYWORDS[old]):
            raise TypeError(f"{type(estimator).__name__}() got an unexpected keyword "
                            f"argument {old!r}")
        new = RENAMED_KEYWORDS[old]
        warnings.warn(f"{old}= is renamed {new}=; {old}= will be removed", FutureWarning,
                      stacklevel=3)
        setattr(estimator, new, value)


class Estimator:
    """Parameters are the ``__init__`` keywords, stored unchanged; what ``fit`` learns
    ends in ``_``.

    Subclasses set ``_estimator_type`` (scikit-learn's ``estimator_type`` tag, e.g.
    ``"density_estimator"``), ``_fitted_attribute`` (set by ``fit``; its presence
    means fitted) and ``_input_tags`` (what X may hold, for scikit-learn's checks).
    """

    _estimator_type = None
    _fitted_attribute = None
    _input_tags = {"allow_nan": False, "two_d_array": True}

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name, parameter in signature.parameters.items()
                if name != "self" and parameter.kind not in (parameter.VAR_KEYWORD,
                                                              parameter.VAR_POSITIONAL)]

    @classmethod
    def default_params(cls) -> dict:
        """Every parameter's default, from the signature: the one place defaults are
        written (the command line reads them here)."""
        signature = inspect.signature(cls.__init__)
        return {name: signature.parameters[name].default for name in cls._get_param_names()}

    def get_params(self, deep=True) -> dict:
        """The estimator's parameters (with ``deep``, nested ones as ``name__key``)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", nested)
                              for key, nested in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params):
        """Set parameters (``name__key`` for a nested estimator's); returns self."""
        names = self._get_param_names()
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub_key = key.partition("__")
            if name not in names:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {', '.join(names)}")
            if sub_key:
                nested.setdefault(name, {})[sub_key] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        changed = [f"{name}={getattr(self, name)!r}"
                   for name, default in self.default_params().items()
                   if not _same(getattr(self, name), default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- scikit-learn's hooks ----------------------------------------------------------
    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=False),
                    input_tags=InputTags(**self._input_tags))

    def __sklearn_is_fitted__(self) -> bool:
        return self._fitted_attribute is not None and hasattr(self, self._fitted_attribute)

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit "
                                 f"first")

    def _seed_sequence(self) -> np.random.SeedSequence:
        """The ``SeedSequence`` a fit draws from (see :func:`seed_sequence`)."""
        return seed_sequence(self.random_state)

    def _settings(self) -> dict:
        """The parameters as JSON-able values, for run records."""
        return {name: _plain(value) for name, value in self.get_params(deep=False).items()}

    def run_record(self, **results) -> dict:
        """The last fit as a run record (:mod:`emapps.core.record`): settings, seed,
        log-likelihood, trace, iterations, convergence, timings; then ``results``."""
        from ..em.driver import EMResult
        from ..em.record import fit_record
        from .record import run_record

        self._check_fitted()
        result = getattr(self, "result_", None)
        if isinstance(result, EMResult):
            return fit_record(result, self._settings(), model=type(self).__name__, **results)
        return run_record(settings=self._settings(), seed=getattr(self, "seed_", None),
                          log_likelihood=getattr(self, "loglik_", None),
                          trace=getattr(self, "trace_", []), n_iter=getattr(self, "n_iter_", None),
                          converged=getattr(self, "converged_", None),
                          timings=getattr(self, "timings_", {}), model=type(self).__name__,
                          **results)


def _same(value, default) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(value == default) and type(value) is type(default)
    except (TypeError, ValueError):
        return False


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.random.SeedSequence):
        return value.entropy
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return type(value).__name__
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value
