"""Errors and warnings shared by every emapps module.

``UserInputError`` marks a problem with the user's data or options: the CLI prints
its message as one line and exits non-zero, without a traceback.
"""


class UserInputError(ValueError):
    """Bad data or options; the message says what and where."""


class InputTypeError(UserInputError, TypeError):
    """Input of a type that cannot be used (text where numbers are needed...)."""


class NotFittedError(UserInputError, AttributeError):
    """A fitted model's method called before ``fit`` (a ValueError and an AttributeError,
    as scikit-learn's)."""


class DegenerateModelError(UserInputError):
    """A fitted component collapsed (singular covariance, empty component...)."""


class NonFiniteObjectiveError(UserInputError):
    """The EM objective became NaN or infinite: values beyond double precision's range
    or a collapsed model; the message names both and the iteration."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the tolerance was met."""
