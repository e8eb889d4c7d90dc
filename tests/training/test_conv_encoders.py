"""Convolutional encoders: ResNet-18 as published, the sample layouts, and the engine's ``encoder`` option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infomm.data.base import PairedDataset
from infomm.interface import InputError
from infomm.models import ResNetEncoder
from infomm.training import train


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_resnet18_has_the_published_size():
    # ResNet-18 (He et al. 2016) has 11,689,512 parameters with its 1000-way classifier
    # (512 * 1000 + 1000 = 513,000 of them); the encoder stops before the classifier
    assert _count(ResNetEncoder.resnet18((224, 224, 3))) == 11_689_512 - 513_000
    # one input channel (a spectrogram): the 7x7 stem has 64 * 49 * 2 weights fewer
    assert _count(ResNetEncoder.resnet18((257, 188))) == 11_689_512 - 513_000 - 64 * 49 * 2
    enc = ResNetEncoder.resnet18((64, 48))
    assert enc.out_dim == 512 and enc(torch.randn(2, 64, 48)).shape == (2, 512)


def test_layouts_are_read_as_documented():
    torch.manual_seed(0)
    rgb = ResNetEncoder.small((10, 12, 3), widths=(4, 8)).eval()
    clip = ResNetEncoder.small((3, 10, 12, 3), widths=(4, 8)).eval()
    clip.load_state_dict(rgb.state_dict())  # same network, frames folded into the batch
    x = torch.randn(2, 3, 10, 12, 3)
    per_frame = torch.stack([rgb(x[:, t]) for t in range(3)], dim=1)
    assert torch.allclose(clip(x), per_frame.mean(dim=1), atol=1e-6)  # features averaged over frames
    # channels last: pixel (i, j) of channel c is x[..., i, j, c]; a channel-first copy through the same
    # layers gives the same features
    chw = x[:, 0].movedim(-1, 1)
    direct = rgb.stages(rgb.stem(chw)).mean(dim=(2, 3))
    assert torch.allclose(rgb(x[:, 0]), direct, atol=1e-6)
    grey = ResNetEncoder.small((5, 10, 12), widths=(4,))  # (T, H, W): five one-channel frames
    assert grey.channels == 1 and grey.frames and grey(torch.randn(2, 5, 10, 12)).shape == (2, 4)


def test_bad_shapes_are_refused_clearly():
    with pytest.raises(InputError, match="not image-like"):
        ResNetEncoder.small((7,))
    with pytest.raises(InputError, match="built for samples of shape"):
        ResNetEncoder.small((8, 8))(torch.randn(3, 8, 9))
    with pytest.raises(InputError, match="stem="):
        ResNetEncoder((8, 8), stem="vgg")
    with pytest.raises(InputError, match="one positive entry"):
        ResNetEncoder((8, 8), blocks=(1, 1), widths=(4,))


@pytest.fixture(scope="module")
def images() -> PairedDataset:
    """Modality ``img`` (8 x 8) shows the class as a texture (stripes either way, a checkerboard, none),
    shifted at random, what a pooled convolutional encoder reads; ``noise`` holds no label."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 480)
    i, j = np.indices((8, 8))
    patterns = [(i % 2).astype(float), (j % 2).astype(float), ((i + j) % 2).astype(float), np.zeros((8, 8))]
    img = np.stack([np.roll(patterns[c], rng.integers(0, 2, 2), axis=(0, 1)) for c in y])
    img = 1.5 * img + 0.5 * rng.normal(size=img.shape)
    return PairedDataset({"img": img, "noise": rng.normal(size=(480, 6, 6))}, y, "textures")


def test_engine_trains_a_cnn_and_resumes_only_the_same_model(images, tmp_path):
    res = train(
        images,
        "concat-aux",
        tmp_path / "run",
        epochs=4,
        batch_size=32,
        lr=1e-2,
        encoder="cnn",
        feature_dim=16,
    )
    assert res.test["accuracy"] > 0.95 and res.test["accuracy/img"] > 0.95
    assert res.test["accuracy/noise"] < 0.45  # chance is 0.25
    assert isinstance(res.model.encoders["img"], ResNetEncoder) and res.model.encoders["img"].out_dim == 16
    with pytest.raises(InputError, match="another model.*encoder: 'cnn' -> 'mlp'"):
        train(images, "concat-aux", tmp_path / "run", epochs=5, batch_size=32, lr=1e-2, feature_dim=16)


def test_engine_refuses_a_cnn_on_feature_vectors(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    ds = PairedDataset({"a": rng.normal(size=(100, 5)), "b": rng.normal(size=(100, 3))}, y, "vectors")
    with pytest.raises(InputError, match="modality 'a'.*not image-like.*encoder='mlp'"):
        train(ds, "concat", tmp_path, epochs=1, encoder="cnn")
    with pytest.raises(InputError, match="encoder='transformer'"):
        train(ds, "concat", tmp_path, epochs=1, encoder="transformer")
