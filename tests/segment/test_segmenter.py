import warnings

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.segment.hmrf import PottsGaussianEM, PottsParams, estimate_beta, fit_hmrf
from emapps.segment.segmenter import ImageSegmenter

from .conftest import blocks_image


def test_blocks_get_exact_labels_ordered_by_lightness(blocks):
    image, truth = blocks
    labels = ImageSegmenter(3, features="lab", random_state=0).fit_predict(image)
    np.testing.assert_array_equal(labels, truth)  # dark = 0, gray = 1, bright = 2


def test_predict_on_the_fitted_image_equals_fit_labels(blocks):
    image, _ = blocks
    for spatial in ("none", "mrf"):
        segmenter = ImageSegmenter(3, features="labxy", spatial=spatial, random_state=1)
        labels = segmenter.fit_predict(image)
        np.testing.assert_array_equal(segmenter.predict(image), labels)
        probabilities = segmenter.predict_proba(image)
        assert probabilities.shape == (*image.shape[:2], 3)
        np.testing.assert_allclose(probabilities.sum(axis=2), 1.0)
        np.testing.assert_array_equal(probabilities.argmax(axis=2), labels)
        if spatial == "mrf":
            np.testing.assert_array_equal(segmenter.posteriors_.argmax(axis=2), labels)


def test_same_seed_same_labels(blocks):
    image, _ = blocks
    a = ImageSegmenter(4, random_state=7).fit_predict(image)
    b = ImageSegmenter(4, random_state=7).fit_predict(image)
    np.testing.assert_array_equal(a, b)


def test_large_images_fit_on_a_sample_then_converge_on_every_pixel():
    image, _ = blocks_image(seed=2, size=(60, 80), noise=0.08)
    sampled = ImageSegmenter(3, features="lab", sample_pixels=500, tol=1e-6,
                             random_state=0).fit(image)
    whole = ImageSegmenter(3, features="lab", sample_pixels=None, tol=1e-6,
                           random_state=0).fit(image)
    assert sampled.converged_ and len(sampled.trace_) == sampled.n_iter_ > whole.n_iter_ / 2
    X = whole.image_features(image)
    assert sampled.mixture_.score(X) == pytest.approx(whole.mixture_.score(X), abs=1e-5)
    np.testing.assert_array_equal(sampled.labels_, whole.labels_)


def noisy_halves(seed=0, noise=0.35, size=(40, 40)):
    rng = np.random.default_rng(seed)
    truth = np.zeros(size, int)
    truth[:, size[1] // 2:] = 1
    image = np.clip(0.3 + 0.4 * truth + rng.normal(scale=noise, size=size), 0, 1)
    return image, truth


def test_hmrf_recovers_regions_that_pixel_noise_hides():
    image, truth = noisy_halves()
    errors = {}
    for spatial in ("none", "mrf"):
        labels = ImageSegmenter(2, features="gray", spatial=spatial, beta=1.5,
                                random_state=0).fit_predict(image)
        errors[spatial] = np.mean(labels != truth)
    assert errors["none"] > 0.2
    assert errors["mrf"] < 0.03


@pytest.mark.parametrize("update", ["mean-field", "icm"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_hmrf_em_never_lowers_its_objective(update, connectivity):
    image, _ = noisy_halves(seed=3)
    segmenter = ImageSegmenter(3, features="gray", random_state=0).fit(image)
    X = segmenter.image_features(image)
    fit = fit_hmrf(X, image.shape, segmenter.mixture_.params_,
                   segmenter.mixture_.predict_proba(X), beta=0.8, hard=update == "icm",
                   eight=connectivity == 8, tol=0.0, max_iter=25)
    trace = np.array(fit.trace)
    assert len(trace) == 25
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


def test_estimated_beta_grows_with_the_smoothness_of_the_labels():
    rng = np.random.default_rng(0)
    smooth = np.zeros((30, 30), int)
    smooth[:, 15:] = 1
    rough = rng.integers(0, 2, (30, 30))
    prior = np.log([0.5, 0.5])
    betas = [estimate_beta(np.eye(2)[labels.ravel()], prior, labels.shape, False, 1.0)
             for labels in (smooth, rough)]
    assert betas[0] > 2.0
    assert betas[1] < 0.2


def test_fixed_emissions_only_run_e_step_sweeps(blocks):
    image, _ = blocks
    segmenter = ImageSegmenter(3, features="lab", random_state=0).fit(image)
    X = segmenter.image_features(image)
    params = PottsParams(segmenter.mixture_.params_, segmenter.mixture_.predict_proba(X))
    model = PottsGaussianEM(image.shape[:2], 1.0, update_emissions=False)
    after = model.m_step(params, model.e_step(params, X))
    assert after.gaussian is params.gaussian
    with pytest.raises(TypeError, match="init_params"):
        model.initial_params(X, None)


def test_k_chosen_over_a_range_by_bic(blocks):
    image, _ = blocks
    segmenter = ImageSegmenter([1, 2, 3, 4, 5], features="lab", random_state=0).fit(image)
    assert segmenter.n_components_ == 3
    assert [row["k"] for row in segmenter.selection_] == [1, 2, 3, 4, 5]


def test_k_above_the_number_of_colours_is_reduced_with_a_warning():
    image = np.zeros((6, 6, 3))
    image[:, 3:] = 1.0
    with pytest.warns(UserWarning, match="only 2 distinct pixel values"):
        labels = ImageSegmenter(5, features="lab", spatial="none",
                                random_state=0).fit_predict(image)
    np.testing.assert_array_equal(labels, np.repeat([[0, 1]], 3, axis=1).repeat(6, axis=0))


def test_a_one_pixel_image_is_one_segment():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        labels = ImageSegmenter(4, spatial="mrf", random_state=0).fit_predict(np.ones((1, 1, 3)))
    np.testing.assert_array_equal(labels, [[0]])


def test_shared_model_labels_another_image_consistently():
    first, truth = blocks_image(seed=0)
    second, _ = blocks_image(seed=5)
    shared = ImageSegmenter(3, features="lab", random_state=0).fit(first)
    other = ImageSegmenter(3, features="lab").use_shared(shared.shared_state())
    np.testing.assert_array_equal(other.predict(second), truth)
    assert other.score(second) == pytest.approx(shared.score(second))


def test_bad_settings_and_unfitted_use_are_user_errors(blocks):
    image, _ = blocks
    with pytest.raises(UserInputError, match="spatial"):
        ImageSegmenter(3, spatial="crf").fit(image)
    with pytest.raises(UserInputError, match="beta"):
        ImageSegmenter(3, beta=-1.0).fit(image)
    with pytest.raises(UserInputError, match="not fitted"):
        ImageSegmenter(3).predict(image)
    fitted = ImageSegmenter(2, features="lab", random_state=0).fit(image)
    with pytest.raises(UserInputError, match="gray vs colour"):
        fitted.predict(image[..., 0])


def test_scikit_learn_agrees_the_fit_is_converged_on_a_real_image(demo_images):
    """scikit-learn's EM started from our fitted mixture stops at once, where we stopped."""
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    from emapps.segment.io import load_image

    image = load_image(demo_images / "chelsea.png")[::2, ::2]
    ours = ImageSegmenter(4, features="lab", spatial="none", tol=1e-6,
                          random_state=0).fit(image)
    X = ours.image_features(image)
    mixture = ours.mixture_
    theirs = sklearn_mixture.GaussianMixture(
        4, tol=1e-6, reg_covar=1e-6, max_iter=500, weights_init=mixture.weights_,
        means_init=mixture.means_, precisions_init=mixture.precisions_).fit(X)
    assert theirs.n_iter_ <= 2
    assert mixture.score(X) == pytest.approx(theirs.score(X), abs=5e-6)
    assert mixture.score(X) == pytest.approx(ours.loglik_, abs=5e-6)
    assert np.mean(theirs.predict(X) == ours.labels_.ravel()) > 0.998


def test_regions_split_classes_into_components_and_absorb_specks():
    from emapps.segment.regions import connected_regions

    labels = np.zeros((6, 8), int)
    labels[:, 4:] = 1
    labels[0, 0] = 1          # a one-pixel speck of class 1 inside class 0
    labels[2:4, 1:3] = 1      # a 4-pixel island
    every = connected_regions(labels, 0.0)
    assert every.max() + 1 == 4 and every[0, 0] == 0  # raster order of first pixels
    merged = connected_regions(labels, 0.1)  # under 4.8 pixels: absorbed
    expected = np.zeros((6, 8), int)
    expected[:, 4:] = 1
    np.testing.assert_array_equal(merged, expected)
    with pytest.raises(UserInputError, match="fraction"):
        connected_regions(labels, 1.5)


def test_adjacent_regions_of_similar_colour_merge_greedily():
    from emapps.segment.regions import image_regions, merge_similar_regions

    regions = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3]])
    colours = np.array([0, 0, 5, 5, 0, 0, 5, 5, 30, 30, 33, 33], float)[:, None]
    np.testing.assert_array_equal(merge_similar_regions(regions, colours, 4),
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2]])
    # 0+1 merge (distance 5), their mean 2.5 is 29 from the bottom pair: two regions stay
    np.testing.assert_array_equal(merge_similar_regions(regions, colours, 6),
                                  [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    assert merge_similar_regions(regions, colours, 100).max() == 0
    labels = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3]])
    np.testing.assert_array_equal(image_regions(labels, colours, 0.0, 0.0), regions)
    with pytest.raises(UserInputError, match="merge threshold"):
        image_regions(labels, colours, 0.0, -1.0)


def test_the_hmrf_gives_the_same_bits_in_every_process(demo_images):
    """Two processes (other allocations, so other array alignments) give the same beta
    and free energy to the last bit."""
    import subprocess
    import sys

    code = ("import numpy as np\nfrom emapps.segment import ImageSegmenter, load_image\n"
            f"image = load_image({str(demo_images / 'chelsea.png')!r})\n"
            "s = ImageSegmenter(random_state=0, max_iter=30).fit(image)\n"
            "print(repr(s.beta_), repr(s.loglik_))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(3)}
    assert len(runs) == 1, runs
