"""Per-pixel feature vectors: colour (CIELAB, RGB or gray), position and local texture.

Colour units: Lab as ``skimage.color.rgb2lab`` (L in [0, 100]); RGB and gray in 8-bit
units [0, 255].  Grayscale images give one colour channel whatever the colour space.
Position: [x, y] * xy_scale * 100 / max(H, W) (the BSDS protocol's 0.5 by default).
Texture: local mean and standard deviation of the first colour channel over a
``texture_size`` window.
"""

import numpy as np

from ..errors import UserInputError

FEATURES = ("lab", "labxy", "rgb", "gray")


def check_features(features: str) -> None:
    if features not in FEATURES:
        raise UserInputError(f"features must be one of {', '.join(FEATURES)}; got {features!r}")


def colour_channels(image: np.ndarray, features: str) -> np.ndarray:
    """(H, W, C) colour features of a float image in [0, 1]."""
    if features in ("lab", "labxy"):
        from skimage.color import rgb2lab
        if image.ndim == 2:  # L* of a neutral gray; a* = b* = 0 carry nothing
            return rgb2lab(np.repeat(image[..., None], 3, axis=2))[..., :1]
        return rgb2lab(image)
    if features == "gray" and image.ndim == 3:
        from skimage.color import rgb2gray
        return rgb2gray(image)[..., None] * 255.0
    return (image if image.ndim == 3 else image[..., None]) * 255.0


def position_channels(shape, xy_scale: float) -> np.ndarray:
    """(H, W, 2) scaled column and row coordinates."""
    height, width = shape
    scale = xy_scale * 100.0 / max(height, width)
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols * scale, rows * scale], axis=2).astype(np.float64)


def texture_channels(channel: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 2) local mean and standard deviation over a size x size window."""
    from scipy.ndimage import uniform_filter

    mean = uniform_filter(channel, size=size, mode="reflect")
    square = uniform_filter(channel * channel, size=size, mode="reflect")
    return np.stack([mean, np.sqrt(np.maximum(square - mean * mean, 0.0))], axis=2)


def pixel_features(image: np.ndarray, features: str = "lab", *, xy_scale: float = 0.5,
                   texture: bool = False, texture_size: int = 7) -> np.ndarray:
    """(H * W, D) float64 feature matrix, rows in row-major pixel order."""
    check_features(features)
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise UserInputError(f"an image must be H x W or H x W x 3; got shape {image.shape}")
    parts = [colour_channels(image, features)]
    if texture:
        if texture_size < 1:
            raise UserInputError(f"texture size must be >= 1; got {texture_size}")
        parts.append(texture_channels(parts[0][..., 0], texture_size))
    if features == "labxy":
        parts.append(position_channels(image.shape[:2], xy_scale))
    stacked = np.concatenate(parts, axis=2) if len(parts) > 1 else parts[0]
    return np.ascontiguousarray(stacked.reshape(-1, stacked.shape[2]), dtype=np.float64)
