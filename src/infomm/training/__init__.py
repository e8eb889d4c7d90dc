"""The training engine: one Lightning loop for every multimodal method (see :mod:`.engine`)."""

from infomm.training.engine import PAPER_PROTOCOL, TrainConfig, TrainResult, evaluate_batch, train

__all__ = ["PAPER_PROTOCOL", "TrainConfig", "TrainResult", "evaluate_batch", "train"]
