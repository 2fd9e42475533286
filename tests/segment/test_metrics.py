import numpy as np
import pytest
from skimage.metrics import adapted_rand_error, variation_of_information

from emapps.segment.metrics import compare, score_against_annotators


def test_identical_maps_score_perfectly_whatever_the_label_names():
    truth = np.array([[1, 1, 2], [3, 3, 2]])
    result = compare(truth * 10 + 7, truth)
    assert result["voi"] == pytest.approx(0.0, abs=1e-12)
    assert result["are"] == pytest.approx(0.0, abs=1e-12)
    assert result["ri"] == 1.0


def test_against_scikit_image_and_a_hand_count():
    rng = np.random.default_rng(0)
    seg = rng.integers(0, 4, (30, 20))
    truth = rng.integers(1, 6, (30, 20))
    truth[:10] = 2
    result = compare(seg, truth)
    # skimage returns (H(image1 | image0), H(image0 | image1))
    h_seg_given_truth, h_truth_given_seg = variation_of_information(truth, seg)
    assert result["voi_split"] == pytest.approx(h_seg_given_truth, rel=1e-12)
    assert result["voi_merge"] == pytest.approx(h_truth_given_seg, rel=1e-12)
    assert result["are"] == pytest.approx(adapted_rand_error(truth, seg)[0], rel=1e-12)
    # Rand index of a 4-pixel case by counting pairs: labels (a a b b) vs (x y y y)
    seg4, truth4 = np.array([0, 0, 1, 1]), np.array([5, 6, 6, 6])
    # pairs: (01) same/diff, (02) d/d, (03) d/d, (12) d/s, (13) d/s, (23) s/s -> agree 3 of 6
    assert compare(seg4, truth4)["ri"] == pytest.approx(0.5)


def test_one_segment_against_splits_is_pure_merge_error():
    truth = np.repeat([1, 2], 8).reshape(4, 4)
    result = compare(np.zeros((4, 4), int), truth)
    assert result["voi_split"] == pytest.approx(0.0, abs=1e-12)
    assert result["voi_merge"] == pytest.approx(1.0)  # one bit: which half


def test_scores_average_over_annotators():
    truth_a = np.repeat([1, 2], 8).reshape(4, 4)
    truth_b = np.ones((4, 4), int)
    seg = truth_a.copy()
    mean = score_against_annotators(seg, [truth_a, truth_b])
    assert mean["voi"] == pytest.approx((0.0 + 1.0) / 2)
