"""Image segmentation by EM on pixel features: Gaussian mixtures and HMRF-EM."""

from .features import pixel_features
from .io import load_image
from .metrics import compare, score_against_annotators
from .segmenter import ImageSegmenter

__all__ = ["ImageSegmenter", "compare", "load_image", "pixel_features",
           "score_against_annotators"]
