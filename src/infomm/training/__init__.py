"""The training engine: one Lightning loop for every multimodal method (see :mod:`.engine`)."""

from infomm.training.engine import TrainConfig, TrainResult, evaluate_batch, train

__all__ = ["TrainConfig", "TrainResult", "evaluate_batch", "train"]
