"""Seeded synthetic RGB-D video with known shared and modality-private factors (numpy ray-caster).

Each clip is a small room seen by a moving pinhole camera (60 degree horizontal field of view,
1.3 m above the ground, pitched 8 degrees down), ray-cast in metres::

         side view                                   top view (z forward)
                       back wall (3 m high)          z
      camera  .-'      |  z = 5.5 / 6.5 / 7.5 m      ^  ===================== wall
      [=]>--'    o     |                             |     [#] hidden panel (depth only)
       |       (obj)  [#]                            |   o      o      []  slot 2, z = 4.4
      _|________________|___ ground (y = 0)          |      []     o       slot 1, z = 3.4
                                                     |   o                  slot 0, z = 2.4
                                                     +--- columns x = -1.2 -0.4 0.4 1.2 --> x

Factors (every label drawn uniformly and independently; see :data:`FACTORS`):

* shared (in RGB and depth): ``camera_motion`` (8: static, truck left/right, dolly in/out,
  pan left/right, crane up), ``wall_distance`` (3), and for object slots k = 0, 1, 2
  ``obj{k}_type`` (slot 0: sphere/box; slots 1-2: absent/sphere/box), ``obj{k}_column`` (4),
  ``obj{k}_size`` (2), ``obj{k}_motion`` (5: static, left, right, towards, away; rigid). RGB
  sees the geometry through Lambertian shading, cast shadows and occlusion. The optional
  ``fog`` (per metre) blends RGB towards grey by ``exp(-fog Z)``, leaking depth into RGB.
* RGB-private: ``light_direction`` (4; it shapes the shading but cannot be read from depth, so
  it is private to RGB), ``light_colour`` (4), ``exposure`` (3, per frame), and a texture
  (4: flat, stripes, checker, value noise) and colour (6) per surface (``ground``, ``wall``,
  ``obj0``-``obj2``); plus Gaussian camera noise (sigma 2 grey levels, not a factor).
* depth-private: ``hidden_object`` (5: none, or a 0.9 x 1.2 x 0.24 m panel 0.4 m in front of
  the wall in one of the 4 columns, painted to show exactly what lies behind it, i.e. RGB is
  rendered without it), ``wall_relief`` (4: egg-crate bumps of 0, 40, 80, 160 mm that leave the
  shading flat); plus the sensor: axial noise sigma(Z) = 1.2 + 1.9e-6 (Z - 400)^2 mm (Nguyen,
  Izadi & Lovell, 2012, "Modeling Kinect Sensor Noise for Improved 3D Reconstruction and
  Tracking", 3DIMPVT), whole-mm quantisation, 1.5 % random dropouts, dropouts at half of the
  pixels on depth edges, and 0 where there is no surface (above the wall) or Z is outside
  [400, 8000] mm.

Controls: ``control="shuffled"`` pairs clip i's RGB with the depth of clip ``depth_source[i]``
(a derangement, so no pair shares a scene; marginals unchanged); ``control="positive"`` makes
RGB a fixed colour map of the measured depth (no texture, light or noise; invalid -> black).
The ray-caster and the tables the labels index live in :mod:`infomm.data.rgbd_scene`;
:func:`render_rgbd` renders explicit labels (interventions: change one factor, keep the rest).

Example:
    >>> clips = synthetic_rgbd(3, frames=2, size=(32, 32), seed=0)
    >>> clip = clips[0]
    >>> clip.rgb.shape, clip.depth.dtype, len(clip.factors)
    ((2, 32, 32, 3), dtype('uint16'), 29)
    >>> bool((clip.depth == 0).any() and clip.depth.max() <= 8000)
    True
    >>> sorted({spec.role for spec in FACTORS.values()})
    ['depth', 'rgb', 'shared']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from infomm.data.rgbd import RGBDClip
from infomm.data.rgbd_scene import (
    CAMERA_MOTIONS,
    COLUMNS,
    EXPOSURES,
    LIGHT_COLOURS,
    LIGHT_DIRECTIONS,
    OBJECT_MOTIONS,
    PALETTE,
    RELIEF_MM,
    SIZES,
    SURFACES,
    TEXTURES,
    depth_colormap,
    render_scene,
)
from infomm.interface import InputError
from infomm.validation import check_int_range

Control = Literal["shuffled", "positive"]
Role = Literal["shared", "rgb", "depth"]


@dataclass(frozen=True)
class FactorSpec:
    """One factor: how many values it takes, which modality sees it, whether it varies per frame."""

    cardinality: int
    role: Role
    per_frame: bool = False
    #: the object-type factor whose label 0 ("absent") hides this one from the render (None: always shown)
    shown_if: str | None = None


def _factor_specs() -> dict[str, FactorSpec]:
    spec = {
        "camera_motion": FactorSpec(len(CAMERA_MOTIONS), "shared"),
        "wall_distance": FactorSpec(3, "shared"),
    }
    for k in range(3):
        spec[f"obj{k}_type"] = FactorSpec(2 if k == 0 else 3, "shared")
        shown = None if k == 0 else f"obj{k}_type"  # slot 0 always holds an object
        spec[f"obj{k}_column"] = FactorSpec(len(COLUMNS), "shared", shown_if=shown)
        spec[f"obj{k}_size"] = FactorSpec(len(SIZES), "shared", shown_if=shown)
        spec[f"obj{k}_motion"] = FactorSpec(len(OBJECT_MOTIONS), "shared", shown_if=shown)
    spec["light_direction"] = FactorSpec(len(LIGHT_DIRECTIONS), "rgb")
    spec["light_colour"] = FactorSpec(len(LIGHT_COLOURS), "rgb")
    spec["exposure"] = FactorSpec(len(EXPOSURES), "rgb", per_frame=True)
    for s in SURFACES:
        shown = f"{s}_type" if s in ("obj1", "obj2") else None
        spec[f"{s}_texture"] = FactorSpec(len(TEXTURES), "rgb", shown_if=shown)
        spec[f"{s}_colour"] = FactorSpec(len(PALETTE), "rgb", shown_if=shown)
    spec["hidden_object"] = FactorSpec(1 + len(COLUMNS), "depth")
    spec["wall_relief"] = FactorSpec(len(RELIEF_MM), "depth")
    return spec


#: every factor of :func:`synthetic_rgbd`, by name
FACTORS: dict[str, FactorSpec] = _factor_specs()
FACTOR_CARDINALITY = {name: s.cardinality for name, s in FACTORS.items()}


def factor_entropy(role: Role, frames: int = 1) -> float:
    """Entropy in bits of one clip's labels of one role (:data:`FACTORS`), counting only what the
    render can show: a label hidden by an absent object (``shown_if``) counts with the
    probability that its object is present (labels are uniform and independent, so this is
    H(type) + P(present) H(column, size, motion) for slots 1-2). A per-frame label counts
    ``frames`` times. For ``"rgb"`` and ``"depth"`` it is the entropy given the shared labels
    (which decide what is present).

    ``factor_entropy("shared")`` (21.17 bits) bounds what a clip's RGB and depth share. RGB is
    rendered from the shared and RGB-private labels and its own camera noise (fog reads the
    RGB geometry); depth from the shared and depth-private labels and its own sensor noise; so
    RGB - S - depth is a Markov chain given the shared labels S, and by the data-processing
    inequality (Cover & Thomas 2006, "Elements of Information Theory", Thm 2.8.1)
    ``I(RGB; depth) <= H(S)`` for a clip and for each of its frames, with any ``fog`` (the
    seeded noise streams taken as random). That caps what joint coding can save over separate
    coding at any distortions (D1, D2)::

        R_rgb(D1) + R_depth(D2) - R_joint(D1, D2) <= I(RGB; depth)

    since I(XY; X^Y^) = H(XY) - H(XY | X^Y^) >= H(X) + H(Y) - I(X; Y) - H(X | X^) - H(Y | Y^).
    At 64 x 64 that is 21.17 / 4096 = 0.0052 bits per pixel per frame. The shuffled control
    shares nothing (0); the positive control's RGB is a function of the depth, so there the
    bound is the RGB's entropy, not a factor entropy.

    Example:
        >>> round(factor_entropy("shared"), 2), round(factor_entropy("depth"), 2)
        (21.17, 4.32)
    """
    if role not in ("shared", "rgb", "depth"):
        raise InputError(f"role={role!r} is not known; use 'shared', 'rgb' or 'depth'.")
    check_int_range(frames, "frames", 1)
    bits = 0.0
    for spec in FACTORS.values():
        if spec.role == role:
            shown = 1.0 if spec.shown_if is None else 1 - 1 / FACTORS[spec.shown_if].cardinality
            bits += shown * math.log2(spec.cardinality) * (frames if spec.per_frame else 1)
    return bits


def _checked_factors(factors: Mapping[str, Any], frames: int) -> dict[str, np.ndarray]:
    missing = sorted(set(FACTORS) - set(factors))
    if missing:
        raise InputError(f"factors lacks {missing}; pass a label for every factor of FACTORS.")
    out = {}
    for name, spec in FACTORS.items():
        arr = np.asarray(factors[name])
        want = (frames,) if spec.per_frame else ()
        if (
            arr.shape != want
            or not np.issubdtype(arr.dtype, np.integer)
            or arr.min() < 0
            or arr.max() >= spec.cardinality
        ):
            raise InputError(
                f"factors[{name!r}]={arr.tolist()!r} has shape {arr.shape}; it must be integer(s) in "
                f"[0, {spec.cardinality}) of shape {want} (per_frame={spec.per_frame})."
            )
        out[name] = arr.astype(np.int64)
    return out


def render_rgbd(
    factors: Mapping[str, Any],
    *,
    frames: int = 4,
    size: tuple[int, int] = (64, 64),
    fog: float = 0.0,
    noise_seed: int | Sequence[int] = 0,
    noise: bool = True,
) -> RGBDClip:
    """Render one clip from explicit factor labels (for interventions: change one, keep the rest).

    Args:
        factors: a label for every name in :data:`FACTORS` (shape () or (frames,) for per-frame).
        frames, size: T and (H, W). fog: RGB fog density per metre (>= 0).
        noise_seed: seeds the RGB camera noise and the depth sensor (independent streams).
        noise: False renders the clean scene (no camera noise, no depth noise or dropouts; depth
            is still rounded to mm and 0 outside [400, 8000] mm or where no surface is hit).

    Returns:
        an :class:`~infomm.data.RGBDClip` with ``factors`` and ``factor_cardinality`` filled.
    """
    check_int_range(frames, "frames", 1)
    hw = _checked_size(size)
    if not (isinstance(fog, (int, float)) and math.isfinite(fog) and fog >= 0):
        raise InputError(f"fog={fog!r} must be a finite number >= 0 (density per metre; 0 = no fog).")
    f = _checked_factors(factors, frames)
    seeds = [int(noise_seed)] if isinstance(noise_seed, (int, np.integer)) else [int(s) for s in noise_seed]
    rgb, depth, k = render_scene(f, frames, hw, seeds, float(fog), True, True, bool(noise))
    assert rgb is not None and depth is not None
    return RGBDClip(rgb, depth, k, f, dict(FACTOR_CARDINALITY), {"generator": "render_rgbd", "fog": fog})


def _checked_size(size: Any) -> tuple[int, int]:
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    if not ok or not all(isinstance(s, (int, np.integer)) and 8 <= s <= 4096 for s in size):
        raise InputError(f"size={size!r} must be (height, width), two integers in [8, 4096], e.g. (64, 64).")
    return int(size[0]), int(size[1])


@dataclass(frozen=True, eq=False)
class SyntheticRGBD:
    """A lazily rendered sequence of synthetic clips: ``clips[i]`` renders clip i (a 64 x 64 x 4
    clip takes about 10 ms), so large sets cost only their factor labels until read. Nothing is
    cached: bind a clip (``clip = clips[i]``) rather than indexing again.

    Attributes:
        scene_factors: the labels of scene i, one dict per clip; clip i's RGB shows scene i.
        depth_source: (n,) int64; clip i's depth shows scene ``depth_source[i]`` (the identity
            unless ``control == "shuffled"``), rendered with that scene's own sensor noise.
        frames, size, seed, fog, control: the settings of :func:`synthetic_rgbd`.
    """

    scene_factors: tuple[dict[str, np.ndarray], ...]
    depth_source: np.ndarray
    frames: int
    size: tuple[int, int]
    seed: int
    fog: float
    control: Control | None

    def __len__(self) -> int:
        return len(self.scene_factors)

    def __getitem__(self, i: int) -> RGBDClip:
        n = len(self)
        if not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"clip index {i!r} is out of range for {n} clips.")
        i = int(i) % n
        j = int(self.depth_source[i])
        f = self.scene_factors[i]
        meta = {"generator": "synthetic_rgbd", "index": i, "depth_source": j, "control": self.control}
        rgb, depth, k = render_scene(
            f, self.frames, self.size, [self.seed, i], self.fog, self.control != "positive", j == i
        )
        if j != i:
            _, depth, _ = render_scene(
                self.scene_factors[j], self.frames, self.size, [self.seed, j], 0.0, False, True
            )
        assert depth is not None
        if self.control == "positive":
            rgb = depth_colormap(depth)
        assert rgb is not None
        return RGBDClip(rgb, depth, k, dict(f), dict(FACTOR_CARDINALITY), meta)

    def __iter__(self) -> Iterator[RGBDClip]:
        return (self[i] for i in range(len(self)))

    def factor_table(self) -> dict[str, np.ndarray]:
        """Labels of every scene stacked: name -> (n,) or (n, T) int64."""
        return {name: np.stack([f[name] for f in self.scene_factors]) for name in FACTORS}


def synthetic_rgbd(
    n_clips: int,
    frames: int = 4,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
    fog: float = 0.0,
    control: Control | None = None,
) -> SyntheticRGBD:
    """``n_clips`` seeded synthetic RGB-D clips (the scene, factors and controls of the module docstring).

    Args:
        n_clips: number of clips (>= 1; >= 2 for ``control="shuffled"``). frames: T (>= 1).
        size: (H, W), each in [8, 4096]; 256 x 256 single frames render in well under a second.
        seed: the factor labels, camera noise and depth sensor noise all follow from it.
        fog: RGB fog density per metre (0 = none; 0.3 halves the contrast at 2.3 m).
        control: None, ``"shuffled"`` (depth of another scene) or ``"positive"`` (RGB = colour
            map of depth).

    Returns:
        a :class:`SyntheticRGBD` (``len``, indexing and iteration give :class:`~infomm.data.RGBDClip`).
    """
    check_int_range(n_clips, "n_clips", 2 if control == "shuffled" else 1)
    check_int_range(frames, "frames", 1)
    check_int_range(seed, "seed", 0)
    hw = _checked_size(size)
    if control not in (None, "shuffled", "positive"):
        raise InputError(f"control={control!r} is not known; use None, 'shuffled' or 'positive'.")
    if not (isinstance(fog, (int, float)) and math.isfinite(fog) and fog >= 0):
        raise InputError(f"fog={fog!r} must be a finite number >= 0 (density per metre; 0 = no fog).")
    rng = np.random.default_rng([seed, 0])
    draws = {
        name: rng.integers(0, s.cardinality, (n_clips, frames) if s.per_frame else n_clips)
        for name, s in FACTORS.items()
    }
    scenes = tuple({name: draws[name][i] for name in FACTORS} for i in range(n_clips))
    source = np.arange(n_clips)
    if control == "shuffled":  # a random cyclic order: every clip takes the depth of its successor
        order = rng.permutation(n_clips)
        source[order] = np.roll(order, -1)
    return SyntheticRGBD(scenes, source, int(frames), hw, int(seed), float(fog), control)
