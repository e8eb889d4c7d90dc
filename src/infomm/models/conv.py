"""Convolutional encoders for image-like modalities: ResNet-18 and a small ResNet, pooled to a vector.

The residual network of He, Zhang, Ren & Sun, 2016, "Deep Residual Learning for Image
Recognition", CVPR (Sec. 3-4, Table 1: the 18-layer network of BasicBlocks, 2-2-2-2 blocks of
widths 64-128-256-512 after a 7x7 stride-2 stem and a 3x3 max-pool). It is the backbone of the
balancing papers' audio-visual experiments: OGM-GE (Peng et al., CVPR 2022) trains one ResNet-18 on
the log spectrogram (1 channel, 257 x 188 for 3 s of CREMA-D audio) and one on the frames (3 x 224 x
224; several frames are folded into the batch and their features averaged, as here), each
pooled to 512 features. ``ResNetEncoder.small`` is the CIFAR form (Sec. 4.2: a 3x3 stride-1 stem,
no max-pool) for inputs as small as 8 x 8 digits or 40 x 32 log-mel patches.

Written here rather than imported from torchvision: torchvision's wheels are built against one
torch release each, and installing it next to the CPU torch this project pins replaces that
torch (or fails to import); the network is forty lines.

Inputs keep infomm's sample layouts (what its loaders return, channels last), told by the
per-sample shape given at construction:

==================  =====================================  ==================================
sample shape        meaning                                becomes
==================  =====================================  ==================================
(H, W)              one grey image or spectrogram          1 x H x W
(H, W, 3)           one RGB image                          3 x H x W
(T, H, W)           T grey frames (clip folders)           T images of 1 x H x W, features averaged
(T, H, W, 3)        T RGB frames                           T images of 3 x H x W, features averaged
==================  =====================================  ==================================

Example:
    >>> import torch
    >>> enc = ResNetEncoder.small((8, 8), widths=(8, 16, 32))
    >>> enc(torch.randn(5, 8, 8)).shape, enc.out_dim
    (torch.Size([5, 32]), 32)
    >>> frames = ResNetEncoder.small((4, 12, 12, 3), widths=(8, 16))
    >>> frames(torch.randn(2, 4, 12, 12, 3)).shape
    torch.Size([2, 16])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from infomm.interface import InputError


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut (He et al. 2016, Fig. 2)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:  # option B of the paper: projection where the shape changes
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def _layout(sample_shape: Sequence[int]) -> tuple[int, bool]:
    """``(channels, has_frames)`` of a sample shape (see the module table), else an InputError."""
    shape = tuple(int(s) for s in sample_shape)
    if len(shape) == 2:
        return 1, False
    if len(shape) == 3:
        return (3, False) if shape[-1] == 3 else (1, True)
    if len(shape) == 4 and shape[-1] == 3:
        return 3, True
    raise InputError(
        f"sample shape {shape} is not image-like; a convolutional encoder takes (H, W), (H, W, 3), "
        "(T, H, W) or (T, H, W, 3) samples: use encoder='mlp' for feature vectors and sequences."
    )


class ResNetEncoder(nn.Module):
    """A residual network over one image-like modality, global-average-pooled to ``out_dim`` features.

    Args:
        sample_shape: shape of one sample (see the module table), e.g. ``(40, 32)`` or ``(1, 224, 224, 3)``.
        blocks: BasicBlocks per stage (ResNet-18: ``(2, 2, 2, 2)``).
        widths: channels per stage (ResNet-18: ``(64, 128, 256, 512)``); the first stage keeps the
            resolution, every later one halves it. ``out_dim = widths[-1]``.
        stem: ``"imagenet"`` (7x7 stride-2 conv + 3x3 stride-2 max-pool) or ``"small"`` (3x3 stride-1).
    """

    def __init__(
        self,
        sample_shape: Sequence[int],
        blocks: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if len(blocks) != len(widths) or not blocks or min(blocks) < 1 or min(widths) < 1:
            raise InputError(
                f"blocks={tuple(blocks)} and widths={tuple(widths)} need one positive entry each per stage."
            )
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.channels, self.frames = _layout(self.sample_shape)
        c = int(widths[0])
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(self.channels, c, 7, 2, 3, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1),
            )
        elif stem == "small":
            self.stem = nn.Sequential(
                nn.Conv2d(self.channels, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)
            )
        else:
            raise InputError(f"stem={stem!r} is not known; use 'imagenet' or 'small'.")
        stages: list[nn.Module] = []
        for i, (n, w) in enumerate(zip(blocks, widths, strict=True)):
            for j in range(int(n)):
                stages.append(BasicBlock(c, int(w), 2 if (i > 0 and j == 0) else 1))
                c = int(w)
        self.stages = nn.Sequential(*stages)
        self.out_dim = c
        for mod in self.modules():  # the initialisation of the paper (He et al. 2015) for ReLU networks
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

    @classmethod
    def resnet18(cls, sample_shape: Sequence[int]) -> ResNetEncoder:
        """The 18-layer network (11.2 M parameters for 3 channels), 512 features."""
        return cls(sample_shape)

    @classmethod
    def small(cls, sample_shape: Sequence[int], widths: Sequence[int] = (16, 32, 64)) -> ResNetEncoder:
        """One BasicBlock per stage after a 3x3 stride-1 stem: for inputs of 8-64 pixels a side."""
        return cls(sample_shape, blocks=(1,) * len(widths), widths=widths, stem="small")

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise InputError(
                f"input of shape {tuple(x.shape)}; this encoder was built for samples of shape "
                f"{self.sample_shape} (n, {', '.join(map(str, self.sample_shape))})."
            )
        n = x.shape[0]
        if self.channels == 3:  # channels last -> first
            x = x.movedim(-1, -3)
        else:
            x = x.unsqueeze(-3)
        x = x.reshape(-1, *x.shape[-3:])  # frames folded into the batch
        feats = self.stages(self.stem(x)).mean(dim=(2, 3))
        return feats.view(n, -1, self.out_dim).mean(dim=1) if self.frames else feats
