"""Multimodal models: per-modality encoders, heads and fusion, returning a MultimodalOutput."""

from infomm.models.conv import ResNetEncoder
from infomm.models.late_fusion import LateFusion, MLPEncoder

__all__ = ["LateFusion", "MLPEncoder", "ResNetEncoder"]
