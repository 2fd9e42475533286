"""sRGB to CIELAB per pixel (D65 white, 2 degree observer), as ``skimage.color.rgb2lab``.

c_lin = ((c + 0.055) / 1.055)^2.4 if c > 0.04045 else c / 12.92;  XYZ = M c_lin;
f(t) = t^(1/3) if t > 0.008856 else 7.787 t + 16/116 of XYZ / white;
L = 116 f(Y) - 16, a = 500 (f(X) - f(Y)), b = 200 (f(Y) - f(Z)).
One pass over the pixels with no temporaries, written into given output columns.
"""

import numpy as np

from ._jit import kernel
from .logspace import BLOCK, fast_exp, fast_log
from .parallel import map_chunks

XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


@kernel()
def _power_or_linear(values, nb, shift, scale, power, threshold, slope, offset, work):
    """values <- ((v + shift) * scale)^power if v > threshold else slope v + offset, over
    the first nb columns of each row; simple loops over a block so that they vectorise."""
    for ch in range(values.shape[0]):
        for b in range(nb):
            work[b] = fast_log(max((values[ch, b] + shift) * scale, 1e-300))
        for b in range(nb):
            work[b] = fast_exp(power * work[b])
        for b in range(nb):
            v = values[ch, b]
            values[ch, b] = work[b] if v > threshold else slope * v + offset


@kernel()
def lab_rows(rgb, start, stop, matrix, white, out):
    """out[n, :3] = Lab of the sRGB values rgb[n] in [0, 1], for rows [start, stop)."""
    rgb_t = np.empty((3, BLOCK))
    xyz = np.empty((3, BLOCK))
    work = np.empty(BLOCK)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        for b in range(nb):
            for ch in range(3):
                rgb_t[ch, b] = rgb[first + b, ch]
        _power_or_linear(rgb_t, nb, 0.055, 1.0 / 1.055, 2.4, 0.04045, 1.0 / 12.92, 0.0, work)
        for row in range(3):
            for b in range(nb):
                xyz[row, b] = (matrix[row, 0] * rgb_t[0, b] + matrix[row, 1] * rgb_t[1, b]
                               + matrix[row, 2] * rgb_t[2, b]) / white[row]
        _power_or_linear(xyz, nb, 0.0, 1.0, 1.0 / 3.0, 0.008856, 7.787, 16.0 / 116.0, work)
        for b in range(nb):
            out[first + b, 0] = 116.0 * xyz[1, b] - 16.0
            out[first + b, 1] = 500.0 * (xyz[0, b] - xyz[1, b])
            out[first + b, 2] = 200.0 * (xyz[1, b] - xyz[2, b])


def rgb_to_lab(rgb: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write the Lab values of ``rgb`` (N, 3) into the first 3 columns of ``out`` (N, >= 3)."""
    map_chunks(lambda start, stop: lab_rows(rgb, start, stop, XYZ_FROM_RGB, WHITE_D65, out),
               rgb.shape[0])
    return out
