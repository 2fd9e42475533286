"""Recommenders fitted by EM: rating prediction and top-N, by the users' own ids."""

from .aspect import AspectRecommender
from .factor import FactorRecommender
from .gaussian_aspect import GaussianAspectRecommender
from .implicit import ImplicitFactorRecommender
from .io import Ratings, read_ratings
from .multinomial import MixtureRecommender
from .poisson import PoissonRecommender
from .recommender import UnknownIdError
from .registry import MODELS, load_model, make_model

__all__ = ["AspectRecommender", "FactorRecommender", "GaussianAspectRecommender",
           "ImplicitFactorRecommender", "MixtureRecommender", "PoissonRecommender",
           "Ratings", "read_ratings", "load_model", "make_model", "MODELS", "UnknownIdError"]
