"""infomm: information-theoretic multimodal learning on PyTorch."""

from infomm.interface import Estimate, Flag, FlagCode, InputError, Spread, Task

__version__ = "0.1.0"

__all__ = ["Estimate", "Flag", "FlagCode", "InputError", "Spread", "Task", "__version__"]
