"""Data: tasks with known truth, built-in real data (AV-digits), loaders for user files.

Example:
    >>> from infomm.data import TASKS
    >>> round(TASKS.get("binormal-0.75").truth, 4)
    0.4133
"""

from infomm.data.avdigits import DIGIT_WORDS, LogMelConfig, load_avdigits, speech_pool
from infomm.data.ave import AVEFiles, VGGSoundAVELFiles, load_ave_features
from infomm.data.base import PairedDataset
from infomm.data.folders import CREMAD_CLASSES, LabelFile, load_clip_folder
from infomm.data.fsdd import FSDDRecording, load_fsdd
from infomm.data.gates import GATES, EmbeddedGate, gate_joint, sample_gate
from infomm.data.io import load_array
from infomm.data.multibench import load_multibench
from infomm.data.paired_sequences import avdigit_strings, synthetic_paired_sequences
from infomm.data.rgbd import RGBDClip, motorcycle_frame
from infomm.data.rgbd_io import load_rgbd_folder, read_depth_png, read_rgb, write_depth_png, write_rgb_png
from infomm.data.rgbd_synthetic import FACTORS, SyntheticRGBD, factor_entropy, render_rgbd, synthetic_rgbd
from infomm.data.sequences import PairedSequences
from infomm.data.tasks import (
    TASKS,
    additive_uniform,
    benchmark_family,
    bivariate_normal,
    dense,
    entropy_family,
    gaussian_entropy_task,
    gaussian_pairs_with_mi,
    gaussian_task,
    independent,
    sparse_pairs,
    student_t,
    transformed,
    uniform_cube_entropy_task,
)
from infomm.data.transforms import TRANSFORMS

__all__ = [
    "AVEFiles",
    "VGGSoundAVELFiles",
    "load_ave_features",
    "CREMAD_CLASSES",
    "DIGIT_WORDS",
    "GATES",
    "EmbeddedGate",
    "LabelFile",
    "gate_joint",
    "load_clip_folder",
    "load_multibench",
    "sample_gate",
    "FSDDRecording",
    "LogMelConfig",
    "PairedDataset",
    "PairedSequences",
    "avdigit_strings",
    "synthetic_paired_sequences",
    "TASKS",
    "TRANSFORMS",
    "additive_uniform",
    "benchmark_family",
    "bivariate_normal",
    "dense",
    "entropy_family",
    "gaussian_entropy_task",
    "gaussian_pairs_with_mi",
    "gaussian_task",
    "independent",
    "load_array",
    "load_avdigits",
    "load_fsdd",
    "sparse_pairs",
    "student_t",
    "transformed",
    "uniform_cube_entropy_task",
    "speech_pool",
    "RGBDClip",
    "motorcycle_frame",
    "load_rgbd_folder",
    "read_depth_png",
    "read_rgb",
    "write_depth_png",
    "write_rgb_png",
    "FACTORS",
    "SyntheticRGBD",
    "render_rgbd",
    "factor_entropy",
    "synthetic_rgbd",
]
