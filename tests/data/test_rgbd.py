"""RGB-D data: the synthetic ray-caster, the Middlebury frame, and the file readers and writers.

The synthetic scenes are checked against what they are built to be: depth obeys the pinhole
geometry (analytic ground depth, planar back-projected wall), sensor noise follows the
sigma(Z) model, every factor changes exactly the modalities its role says, the hidden panel
and the wall relief are invisible in RGB, and the controls are what they claim (shuffled
pairs carry another scene's depth bit for bit, positive-control RGB is a function of depth).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from infomm.data import (
    FACTORS,
    RGBDClip,
    factor_entropy,
    load_rgbd_folder,
    motorcycle_frame,
    read_depth_png,
    read_rgb,
    render_rgbd,
    synthetic_rgbd,
    write_depth_png,
    write_rgb_png,
)
from infomm.data.rgbd_io import NYU_V2_INTRINSICS
from infomm.data.rgbd_scene import PITCH_DEG, depth_colormap, kinect_sigma_mm
from infomm.interface import InputError


def _scene(frames: int = 4, **changes) -> dict[str, np.ndarray]:
    """A scene with all three objects and the hidden panel present, everything visible."""
    f = {name: 0 for name in FACTORS}
    f.update(
        camera_motion=1, wall_distance=1, obj0_type=1, obj0_column=0, obj0_size=1, obj0_motion=2,
        obj1_type=1, obj1_column=2, obj1_size=1, obj2_type=2, obj2_column=3, obj2_motion=1,
        hidden_object=2, wall_relief=2, light_direction=0, light_colour=1,
        ground_texture=2, wall_texture=3, obj0_texture=1, obj1_texture=2, obj2_texture=3,
        ground_colour=0, wall_colour=1, obj0_colour=2, obj1_colour=3, obj2_colour=4,
    )  # fmt: skip
    f.update(changes)
    out = {k: np.asarray(v, dtype=np.int64) for k, v in f.items()}
    out["exposure"] = np.asarray(changes.get("exposure", [1] * frames), dtype=np.int64)
    return out


# ---------------------------------------------------------------------------- synthetic scenes
def test_same_seed_same_arrays_and_another_seed_differs():
    a, b, c = (list(synthetic_rgbd(3, seed=s)) for s in (5, 5, 6))  # each access renders: bind once
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x.rgb, y.rgb)
        np.testing.assert_array_equal(x.depth, y.depth)
        assert x.factors.keys() == y.factors.keys() == set(FACTORS)
        assert all(np.array_equal(x.factors[k], y.factors[k]) for k in FACTORS)
        assert not np.array_equal(x.rgb, z.rgb) and not np.array_equal(x.depth, z.depth)
    np.testing.assert_array_equal(synthetic_rgbd(3, seed=5)[-1].depth, a[2].depth)  # negative index; pure


def test_shapes_dtypes_and_intrinsics():
    clips = synthetic_rgbd(2, frames=3, size=(48, 80), seed=0)
    assert len(clips) == 2 and len(list(clips)) == 2
    clip = clips[1]
    assert clip.rgb.shape == (3, 48, 80, 3) and clip.rgb.dtype == np.uint8
    assert clip.depth.shape == (3, 48, 80) and clip.depth.dtype == np.uint16
    fx = 40 / math.tan(math.radians(30))  # 60 degree horizontal field of view, square pixels
    assert clip.intrinsics == pytest.approx((fx, fx, 39.5, 23.5))
    assert clip.factors["exposure"].shape == (3,) and clip.factors["camera_motion"].shape == ()
    assert clip.meta["index"] == 1 and clip.meta["depth_source"] == 1
    with pytest.raises(IndexError):
        clips[2]


def test_ground_depth_matches_the_pinhole_geometry():
    """Bottom row, frame 0, static camera: Z = 1.3 m / ((v - cy) cos(8 deg) / fy + sin(8 deg))."""
    clip = render_rgbd(_scene(camera_motion=0), size=(64, 64), noise=False)
    fx, fy, cx, cy = clip.intrinsics
    p = math.radians(-PITCH_DEG)
    for v in (63, 60):
        expected = 1300.0 / ((v - cy) / fy * math.cos(p) + math.sin(p))
        np.testing.assert_allclose(clip.depth[0, v].astype(float), expected, atol=0.51)


def test_depth_is_z_along_the_optical_axis_so_the_wall_back_projects_to_a_plane():
    clip = render_rgbd(_scene(camera_motion=0, wall_relief=0, hidden_object=0), size=(64, 64), noise=False)
    fx, fy, cx, cy = clip.intrinsics
    z = clip.depth[0, :20].astype(float)  # the top rows see only the wall (above every object) or sky
    v, u = np.nonzero(z > 0)
    zz = z[v, u]
    x, y = (u - cx) * zz / fx, (v - cy) * zz / fy
    design = np.stack([x, y, np.ones_like(x)], 1)
    coef, *_ = np.linalg.lstsq(design, zz, rcond=None)
    assert len(zz) > 500
    assert np.abs(design @ coef - zz).max() < 1.5  # mm rounding only; ray length instead of Z would bend it
    # the fitted plane is the wall 6.5 m ahead, seen 1.3 m below the camera with an 8 degree pitch
    dist = abs(coef[2]) / math.sqrt(coef[0] ** 2 + coef[1] ** 2 + 1)
    assert dist == pytest.approx(6500, abs=3)


def test_invalid_pixels_are_zero_and_dropouts_exist():
    f = _scene()
    clean, noisy = render_rgbd(f, noise=False), render_rgbd(f, noise_seed=1)
    assert (clean.depth[:, 0] == 0).all() and (noisy.depth[:, 0] == 0).all()  # sky above the wall
    valid = clean.depth > 0
    dropped = valid & (noisy.depth == 0)
    assert 0.015 < dropped.sum() / valid.sum() < 0.15  # 1.5 % random + half the depth-edge pixels
    assert noisy.depth[noisy.depth > 0].min() >= 300 and noisy.depth.max() <= 8500
    assert ((noisy.depth > 0) <= valid).all()  # noise never invents a measurement


def test_depth_noise_grows_with_z_as_the_sensor_model_says():
    f = _scene(camera_motion=0, wall_distance=2)
    clean = render_rgbd(f, noise=False).depth.astype(float)
    stds = []
    for lo, hi in ((1500, 3000), (6000, 8000)):
        res, sig = [], []
        for seed in range(3):
            noisy = render_rgbd(f, noise_seed=seed).depth.astype(float)
            m = (clean >= lo) & (clean < hi) & (noisy > 0)
            res.append(noisy[m] - clean[m])
            sig.append(kinect_sigma_mm(clean[m]))
        r, s = np.concatenate(res), np.concatenate(sig)
        assert len(r) > 1000
        assert r.std() == pytest.approx(np.sqrt((s**2).mean()), rel=0.1)
        assert abs(r.mean()) < 3 * r.std() / math.sqrt(len(r)) + 0.5
        stds.append(r.std())
    assert stds[1] > 5 * stds[0]


def test_every_factor_changes_exactly_the_modalities_of_its_role():
    base = _scene(frames=3)
    ref = render_rgbd(base, frames=3, size=(32, 32), noise_seed=4, fog=0.2)
    for name, spec in FACTORS.items():
        changed = dict(base)
        changed[name] = (base[name] + 1) % spec.cardinality
        clip = render_rgbd(changed, frames=3, size=(32, 32), noise_seed=4, fog=0.2)
        rgb_moved = not np.array_equal(clip.rgb, ref.rgb)
        depth_moved = not np.array_equal(clip.depth, ref.depth)
        assert (rgb_moved, depth_moved) == {
            "shared": (True, True),
            "rgb": (True, False),
            "depth": (False, True),
        }[spec.role], name


def test_hidden_panel_is_in_depth_only_and_sits_in_its_column():
    centres = []
    none = render_rgbd(_scene(hidden_object=0, wall_relief=0, camera_motion=0), noise=False)
    for col in range(1, 5):
        clip = render_rgbd(_scene(hidden_object=col, wall_relief=0, camera_motion=0), noise=False)
        np.testing.assert_array_equal(clip.rgb, none.rgb)  # perfectly camouflaged in RGB
        diff = none.depth.astype(float) - clip.depth
        moved = diff != 0
        assert moved.sum() > 40
        assert (diff[moved] > 0).all()  # the panel is in front of what it hides
        assert 250 < np.median(diff[moved]) < 600  # its face is 0.52 m in front of the wall
        centres.append(np.nonzero(moved)[2].mean())
    assert np.all(np.diff(centres) > 5)  # columns left to right


def test_fog_leaks_depth_into_rgb():
    def corr(fog: float) -> float:
        cs = []
        for c in synthetic_rgbd(6, seed=2, fog=fog):
            grey, v = c.rgb.astype(float).mean(-1), c.depth > 0
            cs.append(np.corrcoef(grey[v], c.depth[v])[0, 1])
        return float(np.mean(cs))

    assert corr(0.6) > 0.6 and corr(0.6) > corr(0.0) + 0.8


def test_shuffled_control_pairs_rgb_with_another_scenes_depth():
    plain, shuf = synthetic_rgbd(7, seed=3), synthetic_rgbd(7, seed=3, control="shuffled")
    src = shuf.depth_source
    assert sorted(src.tolist()) == list(range(7)) and (src != np.arange(7)).all()  # a derangement
    for i in range(7):
        np.testing.assert_array_equal(shuf[i].rgb, plain[i].rgb)
        np.testing.assert_array_equal(shuf[i].depth, plain[int(src[i])].depth)
        assert not np.array_equal(shuf[i].depth, plain[i].depth)
        assert shuf[i].meta["depth_source"] == src[i]
    with pytest.raises(InputError, match="n_clips=1"):
        synthetic_rgbd(1, control="shuffled")


def test_positive_control_rgb_is_a_function_of_depth():
    plain, pos = synthetic_rgbd(3, seed=0), synthetic_rgbd(3, seed=0, control="positive")
    for i in range(3):
        clip = pos[i]
        np.testing.assert_array_equal(clip.depth, plain[i].depth)
        np.testing.assert_array_equal(clip.rgb, depth_colormap(clip.depth))
        v = clip.depth > 0
        assert (clip.rgb[~v] == 0).all()
        grey = clip.rgb.astype(float).mean(-1)
        assert abs(np.corrcoef(grey[v], clip.depth[v])[0, 1]) > 0.99
        # one colour per depth value
        _, first = np.unique(clip.depth[v], return_index=True)
        lookup = dict(zip(clip.depth[v][first].tolist(), map(tuple, clip.rgb[v][first]), strict=True))
        assert all(lookup[d] == tuple(c) for d, c in zip(clip.depth[v].tolist(), clip.rgb[v], strict=True))


def test_factor_labels_are_in_range_and_uniform():
    clips = synthetic_rgbd(4000, frames=2, seed=9)  # lazy: only labels are drawn
    table = clips.factor_table()
    assert set(table) == set(FACTORS) and len(FACTORS) == 29
    for name, spec in FACTORS.items():
        labels = table[name]
        assert labels.shape == ((4000, 2) if spec.per_frame else (4000,))
        assert labels.min() == 0 and labels.max() == spec.cardinality - 1
        p = np.bincount(labels.ravel(), minlength=spec.cardinality) / labels.size
        assert -(p * np.log2(p)).sum() == pytest.approx(math.log2(spec.cardinality), abs=0.01), name
    clip = clips[0]
    assert clip.factor_cardinality == {n: s.cardinality for n, s in FACTORS.items()}
    assert clip.factor_bits()["exposure"] == pytest.approx(2 * math.log2(3))
    assert sum(clip.factor_bits().values()) == pytest.approx(
        sum((2 if s.per_frame else 1) * math.log2(s.cardinality) for s in FACTORS.values())
    )


@pytest.mark.parametrize("role", ["shared", "rgb", "depth"])
def test_factor_entropy_counts_exactly_what_the_render_shows(role):
    """Render every value of each independent block of labels (an object's type with the labels it
    hides when absent) and count the distinct clean clips: the entropy of that partition, summed
    over the blocks (less the type's own entropy where the type is shared and the role is not),
    is what factor_entropy claims: no label it counts is invisible, none it drops is visible. The
    scene is uncluttered (slots 1-2 empty unless their block is rendered, a small object in slot
    0, a still camera): in a cluttered one occlusion can hide a label, which only lowers what RGB
    and depth share below the bound."""
    import itertools
    from collections import Counter

    frames = 2
    base = _scene(frames=frames, obj0_size=0, obj1_type=0, obj2_type=0, camera_motion=0)

    def partition_bits(names: list[str]) -> float:
        combos = list(itertools.product(*(range(FACTORS[n].cardinality ** (frames if FACTORS[n].per_frame else 1))
                                          for n in names)))  # fmt: skip
        seen: Counter[bytes] = Counter()
        for combo in combos:
            f = dict(base)
            for n, v in zip(names, combo, strict=True):
                c = FACTORS[n].cardinality
                f[n] = np.asarray([v // c**t % c for t in range(frames)] if FACTORS[n].per_frame else v)
            clip = render_rgbd(f, frames=frames, size=(32, 32), noise=False)
            seen[clip.rgb.tobytes() + clip.depth.tobytes()] += 1
        p = np.array(list(seen.values())) / len(combos)
        return float(-(p * np.log2(p)).sum())

    blocks: dict[str, list[str]] = {}
    for name, spec in FACTORS.items():
        if spec.role == role:
            blocks.setdefault(spec.shown_if or name, [spec.shown_if] if spec.shown_if else []).append(name)
    total = 0.0
    for head, names in blocks.items():
        names = list(dict.fromkeys(names))
        total += partition_bits(names)
        if head in names and FACTORS[head].role != role:
            total -= partition_bits([head])
    assert total == pytest.approx(factor_entropy(role, frames=frames), abs=1e-9)


def test_shared_factor_entropy_is_the_closed_form():
    """Camera motion, wall, slot 0's object, and slots 1-2 each absent with probability 1/3."""
    assert factor_entropy("shared") == pytest.approx(
        3 + math.log2(3) + math.log2(80) + 2 * (math.log2(3) + 2 / 3 * math.log2(40))
    )


def test_factor_entropy_rejects_bad_arguments():
    with pytest.raises(InputError, match="role='texture'"):
        factor_entropy("texture")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="frames"):
        factor_entropy("rgb", frames=0)


def test_render_speed():
    clips = synthetic_rgbd(4, frames=4, size=(64, 64), seed=0)
    clips[0]
    times = []
    for i in range(4):
        start = time.perf_counter()
        clips[i]
        times.append(time.perf_counter() - start)
    assert min(times) < 0.05, times
    big = synthetic_rgbd(1, frames=1, size=(256, 256))
    start = time.perf_counter()
    assert big[0].rgb.shape == (1, 256, 256, 3)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_clips": 0}, "n_clips=0"),
        ({"n_clips": 2, "size": (4, 64)}, "size="),
        ({"n_clips": 2, "size": 64}, "size="),
        ({"n_clips": 2, "frames": 0}, "frames=0"),
        ({"n_clips": 2, "fog": -1.0}, "fog=-1.0"),
        ({"n_clips": 2, "control": "negative"}, "control='negative'"),
    ],
)
def test_synthetic_rgbd_rejects_bad_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        synthetic_rgbd(**kwargs)


def test_render_rgbd_rejects_bad_factors():
    f = _scene()
    with pytest.raises(InputError, match="lacks \\['camera_motion'\\]"):
        render_rgbd({k: v for k, v in f.items() if k != "camera_motion"})
    with pytest.raises(
        InputError,
        match="factors\\['obj0_type'\\]=2 has shape \\(\\); it must be integer\\(s\\) in \\[0, 2\\)",
    ):
        render_rgbd({**f, "obj0_type": np.int64(2)})
    with pytest.raises(InputError, match="exposure.*has shape \\(4,\\); .* shape \\(3,\\)"):
        render_rgbd(f, frames=3)  # _scene has 4 exposure labels


# ---------------------------------------------------------------------------- the container
@pytest.mark.parametrize(
    "change, match",
    [
        ({"rgb": np.zeros((1, 4, 4), np.uint8)}, "rgb has shape \\(1, 4, 4\\)"),
        ({"rgb": np.zeros((1, 4, 4, 3), np.float32)}, "rgb has dtype float32"),
        ({"depth": np.zeros((1, 4, 4), np.float32)}, "depth has dtype float32"),
        ({"depth": np.zeros((1, 4, 5), np.uint16)}, "depth has shape \\(1, 4, 5\\) but rgb has"),
        ({"depth": np.zeros((4, 4), np.uint16)}, "depth has shape \\(4, 4\\)"),
        ({"intrinsics": (0.0, 4.0, 2.0, 2.0)}, "intrinsics="),
        ({"intrinsics": (4.0, 4.0, 2.0)}, "intrinsics="),
        ({"factors": {"a": np.array(1)}}, "name different factors"),
        ({"factors": {"a": np.array(4)}, "factor_cardinality": {"a": 4}}, "outside \\[0, 4\\)"),
        ({"factors": {"a": np.array([1, 2])}, "factor_cardinality": {"a": 4}}, "shape \\(\\) .* or \\(1,\\)"),
        ({"factors": {"a": np.array(0.5)}, "factor_cardinality": {"a": 4}}, "dtype float64"),
    ],
)
def test_rgbd_clip_validates(change, match):
    args = {"rgb": np.zeros((1, 4, 4, 3), np.uint8), "depth": np.zeros((1, 4, 4), np.uint16)}
    args["intrinsics"] = (4.0, 4.0, 1.5, 1.5)  # type: ignore[assignment]
    args.update(change)
    with pytest.raises(InputError, match=match):
        RGBDClip(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Middlebury
def test_motorcycle_frame_depth_from_disparity():
    from skimage.data import stereo_motorcycle

    clip = motorcycle_frame()
    assert clip.rgb.shape == (1, 500, 741, 3) and clip.depth.shape == (1, 500, 741)
    assert clip.rgb.dtype == np.uint8 and clip.depth.dtype == np.uint16
    assert clip.intrinsics == (994.978, 994.978, 311.193, 254.877)
    depth = clip.depth[0]
    valid = depth > 0
    assert (1 - valid.mean()) == pytest.approx(0.0735, abs=0.001)  # measured: 7.35 % without ground truth
    print("motorcycle median depth (mm):", np.median(depth[valid]))
    assert 2700 <= np.median(depth[valid]) <= 2800  # measured: 2750 mm
    assert 2100 <= depth[valid].min() and depth.max() <= 5100  # measured: 2110 .. 5017 mm
    left, _, disp = stereo_motorcycle()
    np.testing.assert_array_equal(clip.rgb[0], left)
    assert (valid == np.isfinite(disp)).all()
    product = depth[valid] * (disp[valid] + 31.086)  # Z (d + doffs) = f B
    np.testing.assert_allclose(product, 994.978 * 193.001, rtol=3e-4)


def test_motorcycle_crop_is_the_centre_and_shifts_the_principal_point():
    full, crop = motorcycle_frame(), motorcycle_frame(crop=(256, 256))
    assert crop.rgb.shape == (1, 256, 256, 3)
    top, left = (500 - 256) // 2, (741 - 256) // 2
    np.testing.assert_array_equal(crop.depth[0], full.depth[0, top : top + 256, left : left + 256])
    np.testing.assert_array_equal(crop.rgb[0], full.rgb[0, top : top + 256, left : left + 256])
    assert crop.intrinsics == pytest.approx((994.978, 994.978, 311.193 - left, 254.877 - top))
    assert motorcycle_frame(crop=(496, 736)).depth.shape == (1, 496, 736)
    for bad in ((512, 256), (0, 10), (256,), 256):
        with pytest.raises(InputError, match="crop="):
            motorcycle_frame(crop=bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- files
def _rgb(h: int = 6, w: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _depth(h: int = 6, w: int = 8, seed: int = 0) -> np.ndarray:
    d = np.random.default_rng(seed).integers(0, 65536, (h, w)).astype(np.uint16)
    d[0, 0], d[0, 1] = 0, 65535
    return d


def test_read_rgb_modes(tmp_path: Path):
    img = _rgb()
    Image.fromarray(img).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgb.png"), img)
    rgba = np.concatenate([img, np.full((6, 8, 1), 7, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgba.png"), img)  # alpha dropped
    Image.fromarray(img).convert("P").save(tmp_path / "pal.png")
    pal = read_rgb(tmp_path / "pal.png")
    assert pal.shape == (6, 8, 3) and pal.dtype == np.uint8
    smooth = np.broadcast_to(np.linspace(0, 255, 8).astype(np.uint8)[None, :, None], (6, 8, 3)).copy()
    Image.fromarray(smooth).save(tmp_path / "rgb.jpg", quality=95)
    assert np.abs(read_rgb(tmp_path / "rgb.jpg").astype(int) - smooth).max() < 12
    Image.fromarray(img[..., 0]).save(tmp_path / "grey.png")
    with pytest.raises(InputError, match="grey image \\(mode L"):
        read_rgb(tmp_path / "grey.png")
    with pytest.raises(InputError, match="is not a file"):
        read_rgb(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot be read as an image"):
        read_rgb(tmp_path / "junk.png")


def test_depth_png_round_trip_and_errors(tmp_path: Path):
    d = _depth()
    assert write_depth_png(tmp_path / "d.png", d) == tmp_path / "d.png"
    back = read_depth_png(tmp_path / "d.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, d)
    Image.fromarray((d >> 8).astype(np.uint8)).save(tmp_path / "d8.png")
    with pytest.raises(InputError, match="is 8-bit \\(mode L\\); depth must be 16-bit PNG in millimetres"):
        read_depth_png(tmp_path / "d8.png")
    Image.fromarray(_rgb()).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match="mode RGB \\(3 channel"):
        read_depth_png(tmp_path / "rgb.png")
    Image.fromarray(_rgb()).save(tmp_path / "rgb.jpg")
    with pytest.raises(InputError, match="is a JPEG file"):
        read_depth_png(tmp_path / "rgb.jpg")
    with pytest.raises(InputError, match="is not a file"):
        read_depth_png(tmp_path / "nothing.png")
    for bad, match in ((d.astype(np.int32), "int32"), (d[None], "shape \\(1, 6, 8\\)"), ([[1]], "list")):
        with pytest.raises(InputError, match=match):
            write_depth_png(tmp_path / "x.png", bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        write_depth_png(tmp_path / "no" / "d.png", d)
    with pytest.raises(InputError, match="must end in .png"):
        write_depth_png(tmp_path / "d.tif", d)
    with pytest.raises(InputError, match="\\(H, W, 3\\) uint8"):
        write_rgb_png(tmp_path / "r.png", d)


def test_writes_are_atomic(tmp_path: Path, monkeypatch):
    target = tmp_path / "d.png"
    write_depth_png(target, _depth(seed=1))
    write_depth_png(target, _depth(seed=2))  # overwrite
    np.testing.assert_array_equal(read_depth_png(target), _depth(seed=2))
    write_rgb_png(tmp_path / "r.png", _rgb())
    np.testing.assert_array_equal(read_rgb(tmp_path / "r.png"), _rgb())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png", "r.png"]  # no temporary files left

    def broken_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_depth_png(target, _depth(seed=3))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_depth_png(target), _depth(seed=2))  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png", "r.png"]


def _folder_layout(root: Path, names: list[str], size=(6, 8)) -> None:
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    for i, n in enumerate(names):
        Image.fromarray(_rgb(*size, seed=i)).save(root / "rgb" / f"{n}.png")
        write_depth_png(root / "depth" / f"{n}.png", _depth(*size, seed=i))


def test_load_folders_layout(tmp_path: Path):
    _folder_layout(tmp_path, ["b", "a", "c"], size=(480, 640))
    clips = load_rgbd_folder(tmp_path)
    assert [c.meta["name"] for c in clips] == ["a", "b", "c"]
    assert all(c.meta["layout"] == "folders" for c in clips)
    for c, seed in zip(clips, (1, 0, 2), strict=True):
        assert c.rgb.shape == (1, 480, 640, 3) and c.depth.shape == (1, 480, 640)
        np.testing.assert_array_equal(c.rgb[0], _rgb(480, 640, seed=seed))
        np.testing.assert_array_equal(c.depth[0], _depth(480, 640, seed=seed))
        assert c.intrinsics == pytest.approx(NYU_V2_INTRINSICS)  # NYU-Depth-v2 size: the toolbox values


def test_load_suffix_layout_with_jpeg_units_and_intrinsics(tmp_path: Path):
    Image.fromarray(_rgb(24, 32)).save(tmp_path / "x_rgb.jpg", quality=95)
    write_depth_png(tmp_path / "x_depth.png", np.full((24, 32), 5000, np.uint16))
    Image.fromarray(_rgb(24, 32, seed=1)).save(tmp_path / "y_rgb.png")
    write_depth_png(tmp_path / "y_depth.png", np.full((24, 32), 1000, np.uint16))
    (tmp_path / "notes.txt").write_text("ignored")
    clips = load_rgbd_folder(tmp_path, depth_unit_mm=0.2)  # TUM RGB-D: 5000 units per metre
    assert [c.meta["name"] for c in clips] == ["x", "y"]
    assert int(clips[0].depth.max()) == 1000 and int(clips[1].depth.max()) == 200
    fx, fy, cx, cy = NYU_V2_INTRINSICS
    assert clips[0].intrinsics == pytest.approx((fx / 20, fy / 20, cx / 20, cy / 20))
    own = load_rgbd_folder(tmp_path, layout="suffix", intrinsics=(30.0, 30.0, 15.5, 11.5))
    assert own[1].intrinsics == (30.0, 30.0, 15.5, 11.5)


def test_load_folder_errors(tmp_path: Path):
    with pytest.raises(InputError, match="is not a folder"):
        load_rgbd_folder(tmp_path / "missing")
    with pytest.raises(InputError, match="no RGB-D pairs found"):
        load_rgbd_folder(tmp_path)
    with pytest.raises(InputError, match="layout='nyu'"):
        load_rgbd_folder(tmp_path, layout="nyu")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="depth_unit_mm=0"):
        load_rgbd_folder(tmp_path, depth_unit_mm=0)

    def case(name: str) -> Path:
        root = tmp_path / name
        _folder_layout(root, ["a", "b"])
        return root

    root = case("lonely_rgb")
    (root / "depth" / "b.png").unlink()
    with pytest.raises(
        InputError, match="1 RGB image\\(s\\) without depth, first 'b.png' \\(expected root/depth/b.png"
    ):
        load_rgbd_folder(root)
    root = case("orphan_depth")
    (root / "rgb" / "a.png").unlink()
    with pytest.raises(InputError, match="depth PNG\\(s\\) without an RGB image, first 'a.png'"):
        load_rgbd_folder(root)
    root = case("duplicate")
    Image.fromarray(_rgb()).save(root / "rgb" / "a.jpg")
    with pytest.raises(InputError, match="two colour images for 'a'"):
        load_rgbd_folder(root)
    root = case("sizes")
    write_depth_png(root / "depth" / "b.png", _depth(6, 9))
    with pytest.raises(InputError, match="'b': RGB b.png is 8x6 but depth b.png is 9x6"):
        load_rgbd_folder(root)
    root = case("depth8")
    Image.fromarray(np.zeros((6, 8), np.uint8)).save(root / "depth" / "a.png")
    with pytest.raises(InputError, match="8-bit .* depth must be 16-bit"):
        load_rgbd_folder(root)
    root = case("grey")
    Image.fromarray(np.zeros((6, 8), np.uint8)).save(root / "rgb" / "b.png")
    with pytest.raises(InputError, match="grey image"):
        load_rgbd_folder(root)
    root = tmp_path / "suffix_lonely"
    root.mkdir()
    Image.fromarray(_rgb()).save(root / "k_rgb.png")
    with pytest.raises(InputError, match="expected root/k_depth.png"):
        load_rgbd_folder(root)
