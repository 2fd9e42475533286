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


def n_colour_channels(image: np.ndarray, features: str) -> int:
    return 3 if image.ndim == 3 and features != "gray" else 1


def _write_colour(image: np.ndarray, features: str, out: np.ndarray) -> None:
    """Colour features of a float image in [0, 1] into out[:, :C] (rows row-major)."""
    if features in ("lab", "labxy"):
        from ..kernels.colour import rgb_to_lab
        if image.ndim == 2:  # L* of a neutral gray; a* = b* = 0 carry nothing
            lab = np.empty((image.size, 3))
            rgb_to_lab(np.repeat(image.reshape(-1, 1), 3, axis=1), lab)
            out[:, 0] = lab[:, 0]
        else:
            rgb_to_lab(image.reshape(-1, 3), out)
    elif features == "gray" and image.ndim == 3:
        from skimage.color import rgb2gray
        out[:, 0] = rgb2gray(image).ravel() * 255.0
    else:
        channels = n_colour_channels(image, features)
        np.multiply(image.reshape(-1, channels), 255.0, out=out[:, :channels])


def colour_channels(image: np.ndarray, features: str) -> np.ndarray:
    """(H * W, C) colour features of a float image in [0, 1]."""
    out = np.empty((image.shape[0] * image.shape[1], n_colour_channels(image, features)))
    _write_colour(np.ascontiguousarray(image, dtype=np.float64), features, out)
    return out


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
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1 or (
            image.ndim == 3 and image.shape[2] != 3):
        raise UserInputError(f"an image must be H x W or H x W x 3; got shape {image.shape}")
    if texture and texture_size < 1:
        raise UserInputError(f"texture size must be >= 1; got {texture_size}")
    height, width = image.shape[:2]
    colours = n_colour_channels(image, features)
    n_features = colours + 2 * texture + 2 * (features == "labxy")
    X = np.empty((height * width, n_features))
    _write_colour(np.ascontiguousarray(image, dtype=np.float64), features, X)
    column = colours
    if texture:
        local = texture_channels(X[:, 0].reshape(height, width), texture_size)
        X[:, column:column + 2] = local.reshape(-1, 2)
        column += 2
    if features == "labxy":
        scale = xy_scale * 100.0 / max(height, width)
        grid = X[:, column:column + 2].reshape(height, width, 2)
        grid[:, :, 0] = np.arange(width) * scale
        grid[:, :, 1] = (np.arange(height) * scale)[:, None]
    return X
