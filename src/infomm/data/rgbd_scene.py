"""The ray-caster behind :func:`~infomm.data.rgbd_synthetic.synthetic_rgbd`: scene constants and rendering.

Pure numpy, vectorised over all frames and pixels; vectors are stored first, (3, T, P) for T
frames of P = H W pixels. World coordinates in metres: x right, y up, z forward (the camera's
optical axis at rest); the ground is y = 0, the back wall z = ``WALL_DISTANCES[...]``. A ray of
pixel (u, v) is ``R_t ((u - cx) / fx, -(v - cy) / fy, 1)``, so its parameter at a hit is the
depth Z along the optical axis. Factor labels index the tables below (see
:data:`~infomm.data.rgbd_synthetic.FACTORS`).

Example:
    >>> from infomm.data.rgbd_synthetic import FACTORS
    >>> f = {name: np.zeros(2 if spec.per_frame else (), np.int64) for name, spec in FACTORS.items()}
    >>> rgb, depth, k = render_scene(f, 2, (16, 16), [0], 0.0, True, True, noise=False)
    >>> rgb.shape, depth.shape, round(k[0], 3)
    ((2, 16, 16, 3), (2, 16, 16), 13.856)
    >>> int(depth[0, -1, 8]), int(depth[0, 0, 8])  # ground 1.9 m ahead at the bottom; sky at the top
    (1925, 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: per frame: camera translation dx, dy, dz (m) and yaw (degrees, + turns right)
CAMERA_MOTIONS = np.array(
    [[0, 0, 0, 0], [-0.08, 0, 0, 0], [0.08, 0, 0, 0], [0, 0, 0.12, 0], [0, 0, -0.12, 0],
     [0, 0, 0, -1.5], [0, 0, 0, 1.5], [0, 0.05, 0, 0]]
)  # fmt: skip
OBJECT_MOTIONS = np.array([[0, 0, 0], [-0.1, 0, 0], [0.1, 0, 0], [0, 0, -0.1], [0, 0, 0.1]])  # m / frame
COLUMNS = (-1.2, -0.4, 0.4, 1.2)
ROWS = (2.4, 3.4, 4.4)
SIZES = (0.3, 0.45)
WALL_DISTANCES = (5.5, 6.5, 7.5)
WALL_HEIGHT = 3.0
LIGHT_DIRECTIONS = np.array([[-0.5, 1.0, -0.7], [0.5, 1.0, -0.7], [0.0, 1.0, -0.3], [-0.9, 0.5, -0.5]])
LIGHT_DIRECTIONS = LIGHT_DIRECTIONS / np.linalg.norm(LIGHT_DIRECTIONS, axis=1, keepdims=True)
LIGHT_COLOURS = np.array([[1.0, 1.0, 1.0], [1.0, 0.85, 0.65], [0.7, 0.85, 1.0], [1.0, 0.7, 0.8]])
PALETTE = np.array(
    [
        [0.85, 0.85, 0.8],
        [0.8, 0.3, 0.25],
        [0.3, 0.65, 0.3],
        [0.25, 0.4, 0.8],
        [0.85, 0.7, 0.3],
        [0.45, 0.35, 0.3],
    ]
)
TEXTURES = ("flat", "stripes", "checker", "noise")
EXPOSURES = (0.75, 1.0, 1.25)
RELIEF_MM = (0.0, 40.0, 80.0, 160.0)
SURFACES = ("ground", "wall", "obj0", "obj1", "obj2")
HIDDEN_HALF = np.array([0.45, 0.6, 0.12]).reshape(3, 1, 1)  # the hidden panel: 0.9 x 1.2 x 0.24 m
HFOV_DEG, PITCH_DEG, CAMERA_HOME = 60.0, -8.0, np.array([0.0, 1.3, 0.0])
Z_MIN_MM, Z_MAX_MM, DROPOUT, RGB_NOISE = 400.0, 8000.0, 0.015, 2.0
SKY, FOG_COLOUR = np.array([0.55, 0.7, 0.9]), np.array([0.8, 0.8, 0.8])
_LATTICE = np.random.default_rng(20240611).random((64, 64))  # the fixed "noise" texture of the world


def kinect_sigma_mm(z_mm: np.ndarray | float) -> np.ndarray:
    """Axial depth noise of a structured-light sensor, ``1.2 + 1.9e-6 (Z - 400)^2`` mm for Z in mm
    (Nguyen et al., 2012: 0.0012 + 0.0019 (z - 0.4)^2 m).

    >>> np.round(kinect_sigma_mm(np.array([1000.0, 4000.0, 8000.0])), 1).tolist()
    [1.9, 25.8, 110.9]
    """
    z = np.asarray(z_mm, dtype=np.float64)
    return 1.2 + 1.9e-6 * (z - 400.0) ** 2


# ------------------------------------------------ geometry: vectors first, (3, T, P) for T frames of P pixels
@dataclass(frozen=True)
class _Prim:
    sphere: bool
    centre: np.ndarray  # (3, T, 1)
    half: np.ndarray  # (3, 1, 1) half extents; a sphere's radius is half[0]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _hit(prim: _Prim, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Ray parameter of the first hit in front of ``o`` (inf where none): (T, P)."""
    if prim.sphere:
        oc = o - prim.centre
        b, cc, a = _dot(oc, d), _dot(oc, oc) - prim.half[0] ** 2, _dot(d, d)
        disc = b * b - a * cc
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        return np.where((disc >= 0) & (t > 1e-6), t, np.inf)
    inv = 1.0 / np.where(np.abs(d) < 1e-12, 1e-12, d)
    t1, t2 = (prim.centre - prim.half - o) * inv, (prim.centre + prim.half - o) * inv
    lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
    tmin, tmax = np.maximum(np.maximum(lo[0], lo[1]), lo[2]), np.minimum(np.minimum(hi[0], hi[1]), hi[2])
    return np.where((tmax >= tmin) & (tmin > 1e-6), tmin, np.inf)


def _camera(f: Mapping[str, np.ndarray], frames: int, size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Origins (3, T, 1), ray directions (3, T, P) scaled to unit optical-axis component, (fx, fy, cx, cy)."""
    h, w = size
    fx = 0.5 * w / math.tan(math.radians(HFOV_DEG / 2))
    cx, cy = (w - 1) / 2, (h - 1) / 2
    v, u = np.mgrid[0:h, 0:w]
    ray = np.stack([(u - cx) / fx, -(v - cy) / fx, np.ones((h, w))]).reshape(3, -1)  # y up, z = 1
    step, t = CAMERA_MOTIONS[int(f["camera_motion"])], np.arange(frames)
    origin = (CAMERA_HOME + t[:, None] * step[:3]).T[:, :, None]
    yaw, p = np.radians(t * step[3]), math.radians(PITCH_DEG)
    cy_, sy, zeros, ones = np.cos(yaw), np.sin(yaw), np.zeros(frames), np.ones(frames)
    rot_yaw = np.stack([np.stack([cy_, zeros, sy], -1), np.stack([zeros, ones, zeros], -1),
                        np.stack([-sy, zeros, cy_], -1)], 1)  # fmt: skip
    rot_pitch = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    dirs = np.einsum("tij,jp->itp", rot_yaw @ rot_pitch, ray)
    return origin, dirs, np.array([fx, fx, cx, cy])


def _objects(f: Mapping[str, np.ndarray], frames: int) -> list[_Prim | None]:
    out: list[_Prim | None] = []
    t = np.arange(frames)[:, None]
    for k in range(3):
        kind = int(f[f"obj{k}_type"]) + (1 if k == 0 else 0)  # 0 absent, 1 sphere, 2 box
        if kind == 0:
            out.append(None)
            continue
        s = SIZES[int(f[f"obj{k}_size"])]
        half = np.array([s, s, s]) if kind == 1 else np.array([s, 1.3 * s, s])
        start = np.array([COLUMNS[int(f[f"obj{k}_column"])], half[1], ROWS[k]])
        centre = (start + t * OBJECT_MOTIONS[int(f[f"obj{k}_motion"])]).T[:, :, None]
        out.append(_Prim(kind == 1, centre, half[:, None, None]))
    return out


def _at(o: np.ndarray, d: np.ndarray, t: np.ndarray) -> np.ndarray:
    return o + np.where(np.isfinite(t), t, 0.0) * d


def _planes(o: np.ndarray, d: np.ndarray, wall: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = np.where(d[1] < 0, -o[1] / d[1], np.inf)
        tw = np.where(d[2] > 0, (wall - o[2]) / d[2], np.inf)
    pg, pw = _at(o, d, tg), _at(o, d, tw)
    tg = np.where((np.abs(pg[0]) <= 8) & (pg[2] <= wall), tg, np.inf)
    return tg, np.where((np.abs(pw[0]) <= 8) & (pw[1] >= 0) & (pw[1] <= WALL_HEIGHT), tw, np.inf)


def _texture(pattern: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brightness in [0.55, 1] of texture ``pattern`` (:data:`TEXTURES`) at surface coordinates (m)."""
    if pattern == 0:
        return np.ones_like(a)
    if pattern == 1:
        return 0.55 + 0.45 * (np.floor(a / 0.3) % 2)
    if pattern == 2:
        return 0.55 + 0.45 * ((np.floor(a / 0.4) + np.floor(b / 0.4)) % 2)
    x, y = a / 0.25, b / 0.25
    i, j, fx, fy = np.floor(x).astype(int) % 64, np.floor(y).astype(int) % 64, x % 1, y % 1
    lat = _LATTICE
    value = (lat[i, j] * (1 - fx) + lat[(i + 1) % 64, j] * fx) * (1 - fy)
    return 0.55 + 0.45 * (
        value + (lat[i, (j + 1) % 64] * (1 - fx) + lat[(i + 1) % 64, (j + 1) % 64] * fx) * fy
    )


def _surface(s: int, q: np.ndarray, objs: list[_Prim | None], m: np.ndarray) -> tuple[np.ndarray, ...]:
    """Normals (3, M) and texture coordinates a, b (M,) of surface ``s`` at the points ``q`` (3, M)."""
    if s < 2:  # ground (x, z) and wall (x, y) in world coordinates
        n = np.array([0.0, 1.0, 0.0] if s == 0 else [0.0, 0.0, -1.0])[:, None].repeat(q.shape[1], 1)
        return n, q[0], q[2] if s == 0 else q[1]
    prim = objs[s - 2]
    assert prim is not None
    rel = q - np.broadcast_to(prim.centre, (3, *m.shape))[:, m]  # object coordinates: texture moves with it
    r = prim.half[:, 0, 0]
    if prim.sphere:
        n = rel / r[0]
        return n, r[0] * np.arctan2(n[0], -n[2]), r[0] * np.arcsin(np.clip(n[1], -1, 1))
    axis = np.argmax(np.abs(rel) / r[:, None], axis=0)
    n = np.eye(3)[:, axis] * np.sign(rel[axis, np.arange(rel.shape[1])])
    return n, np.where(axis == 0, rel[2], rel[0]), np.where(axis == 1, rel[2], rel[1])


def _shade(f: Mapping[str, np.ndarray], o, d, t_all, objs, rng, noise: bool, fog: float) -> np.ndarray:
    """RGB (T, P, 3) uint8 of the nearest surfaces ``t_all`` (5, T, P): ground, wall, 3 objects."""
    sky = ~np.isfinite(t_all).any(0)
    sid, t = np.argmin(t_all, 0), np.where(sky, 0.0, t_all.min(0))
    p = o + t * d
    normal, albedo = np.zeros_like(d), np.zeros_like(d)
    for s, name in enumerate(SURFACES):
        m = (sid == s) & ~sky
        if m.any():
            n, a, b = _surface(s, p[:, m], objs, m)
            normal[:, m] = n
            albedo[:, m] = PALETTE[int(f[f"{name}_colour"])][:, None] * _texture(f[f"{name}_texture"], a, b)
    light = LIGHT_DIRECTIONS[int(f["light_direction"])][:, None, None]
    shadow, start = np.zeros(t.shape, bool), p + 1e-4 * normal
    for prim in objs:
        if prim is not None:
            shadow |= np.isfinite(_hit(prim, start, np.broadcast_to(light, d.shape)))
    colour = albedo * (0.3 + 0.8 * np.clip(_dot(normal, light), 0.0, None) * ~shadow)
    colour[:, sky] = SKY[:, None]
    colour *= LIGHT_COLOURS[int(f["light_colour"])][:, None, None]
    colour *= np.asarray(EXPOSURES)[f["exposure"]][:, None]
    if fog > 0:
        keep = np.where(sky, 0.0, np.exp(-fog * t))
        colour = keep * colour + (1 - keep) * FOG_COLOUR[:, None, None]
    level = 255.0 * np.moveaxis(colour, 0, -1)
    if noise:
        level += RGB_NOISE * rng.normal(size=level.shape)
    return np.clip(np.rint(level), 0, 255).astype(np.uint8)


def _sense(t: np.ndarray, size: tuple[int, int], rng: np.random.Generator, noise: bool) -> np.ndarray:
    z = np.where(np.isfinite(t), t * 1000.0, 0.0).reshape(-1, *size)
    valid = (z >= Z_MIN_MM) & (z <= Z_MAX_MM)
    z = np.where(valid, z, 0.0)
    if noise:  # depth edges: inverse depth is affine on a plane, so its second difference finds them
        w = np.where(valid, 1.0 / np.maximum(z, 1.0), 0.0)
        pad = np.pad(w, ((0, 0), (1, 1), (1, 1)), mode="edge")
        curv = np.maximum(np.abs(pad[:, :-2, 1:-1] + pad[:, 2:, 1:-1] - 2 * w),
                          np.abs(pad[:, 1:-1, :-2] + pad[:, 1:-1, 2:] - 2 * w))  # fmt: skip
        jump = curv > 0.1 * np.maximum(w, pad[:, 1:-1, 1:-1])
        z = z + kinect_sigma_mm(z) * rng.normal(size=z.shape)
        edge = jump & (rng.random(z.shape) < 0.5)
        valid &= ~edge & (rng.random(z.shape) >= DROPOUT)
    return np.where(valid, np.clip(np.rint(z), 1, 65535), 0).astype(np.uint16)


def render_scene(
    f: Mapping[str, np.ndarray],
    frames: int,
    size: tuple[int, int],
    noise_seed: Sequence[int],
    fog: float,
    want_rgb: bool,
    want_depth: bool,
    noise: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, tuple[float, float, float, float]]:
    """(rgb (T, H, W, 3) uint8 or None, depth (T, H, W) uint16 mm or None, (fx, fy, cx, cy)) of the
    scene with (checked) labels ``f``; camera noise and depth sensor draw from the independent
    streams ``[*noise_seed, 1]`` and ``[*noise_seed, 2]``."""
    o, d, k = _camera(f, frames, size)
    objs = _objects(f, frames)
    wall = WALL_DISTANCES[int(f["wall_distance"])]
    tg, tw = _planes(o, d, wall)
    t_obj = [np.full(tg.shape, np.inf) if p is None else _hit(p, o, d) for p in objs]
    rgb = depth = None
    if want_rgb:
        rng = np.random.default_rng([*noise_seed, 1])
        rgb = _shade(f, o, d, np.stack([tg, tw, *t_obj]), objs, rng, noise, fog).reshape(frames, *size, 3)
    if want_depth:
        pw = _at(o, d, tw)
        bump = 0.5 - 0.5 * np.cos(2 * np.pi * pw[0] / 0.9) * np.cos(2 * np.pi * pw[1] / 0.9)
        relief = RELIEF_MM[int(f["wall_relief"])] / 1000.0 * bump
        with np.errstate(divide="ignore", invalid="ignore"):
            tw_relief = np.where(np.isfinite(tw), (wall - relief - o[2]) / d[2], np.inf)
        col = int(f["hidden_object"])
        hidden = []
        if col:
            panel = _Prim(False, np.array([COLUMNS[col - 1], 0.6, wall - 0.4]).reshape(3, 1, 1), HIDDEN_HALF)
            hidden.append(_hit(panel, o, d))
        t_depth = np.min(np.stack([tg, tw_relief, *t_obj, *hidden]), axis=0)
        depth = _sense(t_depth, size, np.random.default_rng([*noise_seed, 2]), noise)
    return rgb, depth, (float(k[0]), float(k[1]), float(k[2]), float(k[3]))


def depth_colormap(depth: np.ndarray) -> np.ndarray:
    """The positive control's RGB: a colour map linear in depth over [400, 8000] mm, black where invalid."""
    t = np.clip((depth.astype(np.float64) - Z_MIN_MM) / (Z_MAX_MM - Z_MIN_MM), 0, 1)
    rgb = np.stack([1.0 - t, 0.05 + 0.9 * (1.0 - t), 0.3 + 0.6 * (1.0 - t)], -1)
    return np.where((depth > 0)[..., None], np.rint(255 * rgb), 0).astype(np.uint8)
