"""A discrete codebook shared by several modalities (CMG-style DCID, Cross-CPC, MM-EMA, TOC).

Pre-train on unlabeled paired sequences so that the same event in any modality lands on the same
code; a head trained on one modality's codes then works on another's (cross-modal
generalization). See ``docs/codebook.md``.
"""

from infomm.codebook.evaluate import encode_sequences, evaluate_codes
from infomm.codebook.model import CodebookConfig, CodebookModel, CodebookOutput
from infomm.codebook.toc import toc_channels, toc_evaluate
from infomm.codebook.training import CodebookRun, fit_codebook, load_model, save_model, split_clips
from infomm.codebook.vq import MultimodalVQ, VQOutput

__all__ = [
    "CodebookConfig",
    "CodebookModel",
    "CodebookOutput",
    "CodebookRun",
    "MultimodalVQ",
    "VQOutput",
    "encode_sequences",
    "evaluate_codes",
    "fit_codebook",
    "load_model",
    "save_model",
    "split_clips",
    "toc_channels",
    "toc_evaluate",
]
