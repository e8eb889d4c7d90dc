"""RGB-D clips: the container, and one real frame (Middlebury 2014 "Motorcycle") built in.

An :class:`RGBDClip` is what the joint RGB + depth compression part consumes: co-registered
colour and depth frames of one camera, its pinhole intrinsics, and (for synthetic data) the
discrete factors the scene was drawn from, so that entropies are known::

    rgb    (T, H, W, 3) uint8
    depth  (T, H, W)    uint16, millimetres along the optical axis (Z, not ray length); 0 = invalid
    intrinsics (fx, fy, cx, cy) in pixels: a point (X, Y, Z) of the camera frame (x right, y down)
               projects to u = fx X / Z + cx, v = fy Y / Z + cy
    factors    name -> int64 array, shape () for a per-clip factor, (T,) for a per-frame one
    factor_cardinality  name -> size of the finite set the factor is drawn from

Sources: :func:`motorcycle_frame` (here), :func:`~infomm.data.rgbd_synthetic.synthetic_rgbd`
(seeded ray-cast scenes with shared and modality-private factors) and
:func:`~infomm.data.rgbd_io.load_rgbd_folder` (NYU-Depth-v2 style folders of your own).

Example:
    >>> clip = RGBDClip(np.zeros((2, 4, 4, 3), np.uint8), np.full((2, 4, 4), 1500, np.uint16),
    ...                 (4.0, 4.0, 1.5, 1.5), {"light": np.array(3)}, {"light": 4})
    >>> clip.frames, clip.size, clip.factor_bits()
    (2, (4, 4), {'light': 2.0})
    >>> RGBDClip(np.zeros((1, 4, 4), np.uint8), np.zeros((1, 4, 4), np.uint16), (4.0, 4.0, 1.5, 1.5))
    Traceback (most recent call last):
    ...
    infomm.interface.InputError: rgb has shape (1, 4, 4); it must be (T, H, W, 3) uint8 (add a frame axis with rgb[None] for one image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infomm.interface import InputError

#: Middlebury 2014 "Motorcycle" as shipped by scikit-image (4x down-sampled): focal length (px),
#: principal point (px), the principal-point offset between the two cameras ``doffs`` (px) and the
#: baseline (mm), from the docstring of :func:`skimage.data.stereo_motorcycle`.
MOTORCYCLE_CALIBRATION = {"f": 994.978, "cx": 311.193, "cy": 254.877, "doffs": 31.086, "baseline_mm": 193.001}


@dataclass(frozen=True, eq=False)
class RGBDClip:
    """Co-registered RGB and depth frames of one camera (see the module docstring for units).

    Attributes:
        rgb: (T, H, W, 3) uint8.
        depth: (T, H, W) uint16 millimetres along the optical axis; 0 marks an invalid pixel.
        intrinsics: (fx, fy, cx, cy) in pixels (stored as a tuple of floats).
        factors: factor name -> int64 array of shape () (per clip) or (T,) (per frame), each value
            in ``[0, factor_cardinality[name])``; empty for real data.
        factor_cardinality: factor name -> number of values it is drawn from (same keys).
        meta: free-form facts (source file, generator settings, ...).

    Raises:
        InputError: a wrong shape or dtype, frame counts or sizes that differ between ``rgb`` and
            ``depth``, non-positive focal lengths, factors without a cardinality (or the reverse),
            or factor values out of range.
    """

    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: tuple[float, float, float, float]
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    factor_cardinality: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rgb, depth = self.rgb, self.depth
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 4 or rgb.shape[-1] != 3:
            shape = getattr(rgb, "shape", type(rgb).__name__)
            raise InputError(
                f"rgb has shape {shape}; it must be (T, H, W, 3) uint8 (add a frame axis with rgb[None] "
                "for one image)."
            )
        if rgb.dtype != np.uint8:
            raise InputError(
                f"rgb has dtype {rgb.dtype}; it must be uint8 (0-255), e.g. rgb.astype(np.uint8)."
            )
        if not isinstance(depth, np.ndarray) or depth.ndim != 3:
            shape = getattr(depth, "shape", type(depth).__name__)
            raise InputError(f"depth has shape {shape}; it must be (T, H, W) uint16 millimetres.")
        if depth.dtype != np.uint16:
            raise InputError(
                f"depth has dtype {depth.dtype}; it must be uint16 millimetres with 0 = invalid, e.g. "
                "np.clip(np.rint(z_mm), 0, 65535).astype(np.uint16)."
            )
        if depth.shape != rgb.shape[:3]:
            raise InputError(
                f"depth has shape {depth.shape} but rgb has {rgb.shape}; (T, H, W) must agree (register and "
                "resize depth to the colour camera first)."
            )
        if rgb.shape[0] < 1 or rgb.shape[1] < 1 or rgb.shape[2] < 1:
            raise InputError(
                f"rgb has shape {rgb.shape}; it needs at least one frame of at least 1x1 pixels."
            )
        try:
            k = tuple(float(v) for v in self.intrinsics)
        except (TypeError, ValueError):
            k = ()
        if len(k) != 4 or not all(math.isfinite(v) for v in k) or k[0] <= 0 or k[1] <= 0:
            raise InputError(
                f"intrinsics={self.intrinsics!r} must be four finite numbers (fx, fy, cx, cy) in pixels with "
                "fx, fy > 0."
            )
        object.__setattr__(self, "intrinsics", k)
        object.__setattr__(
            self, "factors", _checked_factors(self.factors, self.factor_cardinality, rgb.shape[0])
        )
        object.__setattr__(
            self, "factor_cardinality", {n: int(c) for n, c in self.factor_cardinality.items()}
        )

    @property
    def frames(self) -> int:
        """T, the number of frames."""
        return int(self.rgb.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[2])

    @property
    def valid(self) -> np.ndarray:
        """(T, H, W) bool: pixels with a depth measurement (``depth > 0``)."""
        return self.depth > 0

    def depth_m(self) -> np.ndarray:
        """(T, H, W) float32 depth in metres, NaN where invalid."""
        return np.where(self.valid, self.depth.astype(np.float32) / 1000.0, np.float32(np.nan))

    def factor_bits(self) -> dict[str, float]:
        """Entropy (bits) of each factor label *if* drawn uniformly: ``log2(cardinality)`` per
        value, times T for a per-frame factor (the synthetic generator draws every label
        uniformly and independently). It bounds what the pixels carry: labels of an absent or
        occluded object are drawn but not seen."""
        return {n: float(a.size * math.log2(self.factor_cardinality[n])) for n, a in self.factors.items()}


def _checked_factors(factors: Any, cardinality: Any, frames: int) -> dict[str, np.ndarray]:
    if not isinstance(factors, dict) or not isinstance(cardinality, dict):
        raise InputError(
            f"factors and factor_cardinality must be dicts (got {type(factors).__name__} and "
            f"{type(cardinality).__name__}); pass {{}} for data without factor labels."
        )
    if set(factors) != set(cardinality):
        raise InputError(
            f"factors {sorted(factors)} and factor_cardinality {sorted(cardinality)} name different factors; "
            "give every factor a cardinality and nothing else."
        )
    out = {}
    for name, values in factors.items():
        card = cardinality[name]
        if not isinstance(card, (int, np.integer)) or card < 1:
            raise InputError(f"factor_cardinality[{name!r}]={card!r} must be a positive integer.")
        arr = np.asarray(values)
        if not np.issubdtype(arr.dtype, np.integer) or arr.shape not in ((), (frames,)):
            raise InputError(
                f"factors[{name!r}] has dtype {arr.dtype} and shape {arr.shape}; it must hold integers of "
                f"shape () (one label per clip) or ({frames},) (one per frame)."
            )
        if arr.size and (arr.min() < 0 or arr.max() >= card):
            raise InputError(
                f"factors[{name!r}] has values in [{arr.min()}, {arr.max()}] outside [0, {card}) "
                f"(factor_cardinality[{name!r}]={card}); fix the labels or the cardinality."
            )
        out[name] = arr.astype(np.int64)
    return out


def motorcycle_frame(crop: tuple[int, int] | None = None) -> RGBDClip:
    """The left image of Middlebury 2014 "Motorcycle" with depth from its ground-truth disparity.

    From :func:`skimage.data.stereo_motorcycle` (bundled, no download; 500 x 741 pixels, 4x
    down-sampled). Depth follows the Middlebury convention ``Z = f B / (d + doffs)`` with the
    constants of :data:`MOTORCYCLE_CALIBRATION` (f = 994.978 px, B = 193.001 mm, doffs = 31.086
    px), rounded to whole millimetres and clipped to 65535; pixels without ground truth
    (non-finite disparity, about 7.3 % of the frame: occlusions and the image border) are 0.
    Intrinsics are ``fx = fy = f`` and the calibrated principal point (311.193, 254.877) px,
    shifted by the crop. The scene spans about 2.1 to 5.0 m.

    Args:
        crop: (height, width) of a centred crop, e.g. (256, 256); (496, 736) is the largest crop
            whose sides are multiples of 16. None keeps the full 500 x 741 frame.

    Returns:
        an :class:`RGBDClip` with T = 1, no factors and ``meta`` naming the source and crop box.

    Example:
        >>> clip = motorcycle_frame(crop=(256, 256))
        >>> clip.rgb.shape, clip.depth.dtype, clip.intrinsics
        ((1, 256, 256, 3), dtype('uint16'), (994.978, 994.978, 69.193, 132.877))
    """
    from skimage.data import stereo_motorcycle

    left, _, disparity = stereo_motorcycle()
    full_h, full_w = disparity.shape
    if crop is None:
        h, w = full_h, full_w
    else:
        ok = isinstance(crop, (tuple, list)) and len(crop) == 2
        if not ok or not all(
            isinstance(s, (int, np.integer)) and 1 <= s <= m
            for s, m in zip(crop, (full_h, full_w), strict=True)
        ):
            raise InputError(
                f"crop={crop!r} must be (height, width) with 1 <= height <= {full_h} and 1 <= width <= {full_w}, "
                "e.g. (256, 256); or None for the full frame."
            )
        h, w = int(crop[0]), int(crop[1])
    top, left_col = (full_h - h) // 2, (full_w - w) // 2
    cal = MOTORCYCLE_CALIBRATION
    d = disparity[top : top + h, left_col : left_col + w].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = cal["f"] * cal["baseline_mm"] / (d + cal["doffs"])
    good = np.isfinite(z) & (z > 0)
    depth = np.where(good, np.clip(np.rint(np.where(good, z, 0.0)), 1, 65535), 0).astype(np.uint16)
    rgb = np.ascontiguousarray(left[top : top + h, left_col : left_col + w])
    intrinsics = (cal["f"], cal["f"], round(cal["cx"] - left_col, 6), round(cal["cy"] - top, 6))
    meta = {
        "source": "skimage.data.stereo_motorcycle (Middlebury 2014 Motorcycle)",
        "crop_box": (top, left_col, h, w),
    }
    return RGBDClip(rgb[None], depth[None], intrinsics, meta=meta)
