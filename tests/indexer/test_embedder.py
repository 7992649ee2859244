"""The embedder is ViTModel's pooler output, L2-normalised, after ViT's own preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import ViTImageProcessor, ViTModel

from tests.support import PHOTO_NAMES, TINY_VIT, real_photo
from vitrieve.indexer.embedder import Embedder
from vitrieve.indexer.model_source import locate_model, read_model_info
from vitrieve.indexer.preprocess import PreprocessSpec


@pytest.fixture(scope="module")
def location():
    return locate_model(str(TINY_VIT))


@pytest.fixture(scope="module")
def fp32(location) -> Embedder:
    return Embedder(location, precision="fp32", runtime="torch", batch_size=4)


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    return [real_photo(n) for n in PHOTO_NAMES]


def reference_vectors(images: list[Image.Image]) -> np.ndarray:
    """ViTImageProcessor + ViTModel exactly as the model card runs them, in fp32."""
    processor = ViTImageProcessor.from_pretrained(TINY_VIT)
    model = ViTModel.from_pretrained(TINY_VIT).eval()
    with torch.inference_mode():
        pooled = model(**processor(images=images, return_tensors="pt")).pooler_output
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


def gradient_image() -> Image.Image:
    yy, xx = np.mgrid[0:300, 0:400]
    arr = np.stack([(xx * 255 // 399), (yy * 255 // 299), ((xx + yy) * 255 // 698)], -1)
    return Image.fromarray(arr.astype(np.uint8))


def test_fp32_embedding_matches_reference_on_real_photos(fp32, photos):
    ours = fp32.embed_images(photos)
    ref = reference_vectors(photos)
    cosines = np.sum(ours * ref, axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_preprocessing_equals_vit_image_processor(fp32, photos):
    processor = ViTImageProcessor.from_pretrained(TINY_VIT)
    ref = processor(images=photos, return_tensors="pt")["pixel_values"]
    pixels = torch.from_numpy(np.stack([fp32.spec.resize(p) for p in photos]))
    ours = fp32.spec.normalize(pixels, torch.float32)
    assert ours.shape == ref.shape == (len(photos), 3, 224, 224)
    assert torch.max(torch.abs(ours - ref)).item() < 1e-5


def test_reference_tensor_for_a_fixed_image(fp32):
    """Pinned output of the committed tiny ViT: catches any drift in preprocessing or pooling."""
    v = fp32.embed_images([gradient_image()])[0]
    expected = [0.22316, -0.08644, 0.2701, 0.22514, -0.00209, -0.22091, 0.15146, 0.11719]
    np.testing.assert_allclose(v[:8], expected, atol=2e-4)


def test_vectors_are_unit_length_with_model_dim(fp32, photos):
    v = fp32.embed_images(photos)
    assert v.shape == (len(photos), 32) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_results(location, photos):
    small = Embedder(location, precision="fp32", runtime="torch", batch_size=2).embed_images(photos)
    large = Embedder(location, precision="fp32", runtime="torch", batch_size=64).embed_images(
        photos
    )
    np.testing.assert_allclose(small, large, atol=1e-5)


def test_bf16_stays_within_cosine_0999_of_fp32(location, fp32, photos):
    bf16 = Embedder(location, runtime="torch", precision="bf16")
    assert bf16.dtype == torch.bfloat16
    cos = np.sum(bf16.embed_images(photos) * fp32.embed_images(photos), axis=1)
    assert cos.min() >= 0.999, cos


def test_wrong_pixel_shape_is_rejected(fp32):
    with pytest.raises(ValueError, match="224"):
        fp32.embed_pixels(np.zeros((1, 100, 100, 3), dtype=np.uint8))


def test_empty_input_gives_empty_matrix(fp32):
    assert fp32.embed_images([]).shape == (0, 32)


def test_model_info_identifies_weights_without_loading_torch_model(location, tmp_path):
    info = read_model_info(location)
    assert info.dim == 32 and len(info.weights_hash) == 32
    # Different weights -> different identity, so their vectors can never mix.
    other = tmp_path / "other"
    model = ViTModel.from_pretrained(TINY_VIT)
    with torch.no_grad():
        model.pooler.dense.bias.add_(0.1)
    model.save_pretrained(other)
    assert read_model_info(locate_model(str(other))).weights_hash != info.weights_hash


def test_preprocess_spec_reads_model_config():
    spec = PreprocessSpec.from_model_dir(TINY_VIT)
    assert (spec.height, spec.width, spec.resample) == (224, 224, Image.Resampling.BILINEAR)
    assert spec.mean == spec.std == (0.5, 0.5, 0.5)
    assert spec.rescale_factor == pytest.approx(1 / 255)
