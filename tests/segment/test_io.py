import json
from pathlib import PurePath

import numpy as np
import pytest
from PIL import Image

from emapps.core.runtime import max_image_pixels
from emapps.errors import UserInputError
from emapps.segment import io


def save(path, array, mode=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, **kwargs) if mode else Image.fromarray(array).save(path, **kwargs)
    return path


def test_folders_are_searched_recursively_in_natural_order(tmp_path):
    for name in ("img10.png", "img2.png", "sub/img1.jpg", "notes.txt", "img2.overlay.png"):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
    found = io.find_images([tmp_path])
    assert [str(rel) for _, rel in found] == ["img2.png", "img10.png", "sub/img1.jpg"]


def test_globs_keep_paths_below_their_fixed_prefix(tmp_path):
    for name in ("a/x1.png", "a/b/x2.png", "a/b/y.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = io.find_images([str(tmp_path / "a" / "**" / "x*.png")])
    assert [rel for _, rel in found] == [PurePath("b/x2.png"), PurePath("x1.png")]


def test_missing_inputs_and_clashing_outputs_are_user_errors(tmp_path):
    with pytest.raises(UserInputError, match="no such file or folder"):
        io.find_images([tmp_path / "absent"])
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.png").write_bytes(b"x")
    with pytest.raises(UserInputError, match="would both write"):
        io.find_images([tmp_path / "one" / "same.png", tmp_path / "two" / "same.png"])


def test_modes_load_as_floats_in_unit_range(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    np.testing.assert_allclose(io.load_image(save(tmp_path / "rgb.png", rgb)), rgb / 255)
    rgba = np.dstack([rgb, np.full((2, 3), 7, np.uint8)])
    np.testing.assert_allclose(io.load_image(save(tmp_path / "rgba.png", rgba)), rgb / 255)
    gray = np.array([[0, 128], [255, 3]], np.uint8)
    np.testing.assert_allclose(io.load_image(save(tmp_path / "g.png", gray)), gray / 255)
    deep = np.array([[0, 1], [40000, 65535]], np.uint16)  # 16-bit precision is kept
    loaded = io.load_image(save(tmp_path / "g16.png", deep))
    np.testing.assert_allclose(loaded, deep / 65535)
    palette = Image.fromarray(rgb).convert("P")
    palette.save(tmp_path / "p.png")
    assert io.load_image(tmp_path / "p.png").shape == (2, 3, 3)


def test_exif_orientation_is_applied(tmp_path):
    array = np.zeros((2, 4, 3), np.uint8)
    array[0, 0] = 255
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    image.save(tmp_path / "r.jpg", exif=exif, quality=100)
    loaded = io.load_image(tmp_path / "r.jpg")
    assert loaded.shape == (4, 2, 3)
    assert loaded[0, 1].mean() > 0.8  # the white corner moved to the top right


def test_corrupt_truncated_and_bomb_images_raise_one_clear_error(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(io.ImageReadError, match="text.png: not a readable image"):
        io.load_image(tmp_path / "text.png")
    good = save(tmp_path / "good.jpg", np.full((64, 64, 3), 90, np.uint8))
    (tmp_path / "cut.jpg").write_bytes(good.read_bytes()[:200])
    with pytest.raises(io.ImageReadError, match="cut.jpg"):
        io.load_image(tmp_path / "cut.jpg")
    from PIL import Image as PILImage
    before = PILImage.MAX_IMAGE_PIXELS
    with max_image_pixels(100):
        with pytest.raises(io.ImageReadError, match="good.jpg: more than 100 pixels"):
            io.load_image(good)
    assert PILImage.MAX_IMAGE_PIXELS == before


def test_label_maps_use_16_bits_only_above_255_labels(tmp_path):
    small = np.arange(6).reshape(2, 3)
    io.write_labels(tmp_path / "s.png", small)
    assert Image.open(tmp_path / "s.png").mode == "L"
    np.testing.assert_array_equal(io.read_labels(tmp_path / "s.png"), small)
    big = np.arange(600).reshape(20, 30)
    io.write_labels(tmp_path / "b.png", big)
    np.testing.assert_array_equal(io.read_labels(tmp_path / "b.png"), big)


def test_manifest_survives_a_half_written_line(tmp_path):
    io.append_manifest(tmp_path, {"image": "a.png", "status": "ok"})
    with open(tmp_path / io.MANIFEST, "a") as handle:
        handle.write('{"image": "b.png", "sta')  # interrupted mid-line
    io.append_manifest(tmp_path, {"image": "c.png", "status": "ok"})
    assert sorted(io.read_manifest(tmp_path)) == ["a.png", "c.png"]
    lines = (tmp_path / io.MANIFEST).read_text().splitlines()
    assert json.loads(lines[-1])["image"] == "c.png"


def test_16_bit_colour_tiffs_keep_their_precision(tmp_path):
    import tifffile

    deep = (np.arange(2 * 3 * 3).reshape(2, 3, 3) * 3001 + 1).astype(np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", deep)
    np.testing.assert_allclose(io.load_image(tmp_path / "deep.tif"), deep / 65535)
    planar = np.ascontiguousarray(np.moveaxis(deep, 2, 0))
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    np.testing.assert_allclose(io.load_image(tmp_path / "planar.tif"), deep / 65535)


def test_outputs_get_the_usual_file_mode_not_mkstemp_private(tmp_path):
    from emapps.core.runtime import UMASK

    io.write_labels(tmp_path / "l.png", np.zeros((2, 2), int))
    assert (tmp_path / "l.png").stat().st_mode & 0o777 == 0o666 & ~UMASK
