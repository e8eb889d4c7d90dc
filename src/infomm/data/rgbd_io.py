"""RGB-D files: read and write colour images and 16-bit depth PNGs, load NYU-Depth-v2 style folders.

Depth PNGs hold one channel of 16-bit unsigned integers in millimetres along the optical axis,
0 = no measurement (the convention of the NYU-Depth-v2 toolbox exports, TUM RGB-D uses 1/5000 m:
pass ``depth_unit_mm=0.2``). :func:`load_rgbd_folder` reads either layout::

    root/rgb/NAME.png (.jpg, .jpeg)   + root/depth/NAME.png        layout="folders"
    root/NAME_rgb.png (.jpg, .jpeg)   + root/NAME_depth.png        layout="suffix"

Colour images must have three channels: RGBA is accepted and its alpha dropped (PNG exports often
carry an opaque alpha), palette and CMYK / YCbCr images are converted, grey images are refused.
Writers are atomic (a temporary file in the same folder, then :func:`os.replace`), so a reader
never sees half a file.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_rgb_png(root / "a_rgb.png", np.full((4, 6, 3), 200, np.uint8))
    >>> _ = write_depth_png(root / "a_depth.png", np.full((4, 6), 1234, np.uint16))
    >>> [clip] = load_rgbd_folder(root)
    >>> clip.rgb.shape, int(clip.depth.max()), clip.meta["name"]
    ((1, 4, 6, 3), 1234, 'a')
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infomm.data.rgbd import RGBDClip
from infomm.interface import InputError

RGB_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Kinect colour camera of NYU-Depth-v2 (toolbox ``camera_params.m``) at 640 x 480: fx, fy, cx, cy (px)
NYU_V2_INTRINSICS = (518.857901, 519.469611, 325.582449, 253.736166)
_GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def _open(path: str | Path, what: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{what}={str(path)!r} is not a file; pass the path of an existing image.")
    try:
        im = Image.open(p)
        im.load()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(
            f"{what}={str(path)!r} cannot be read as an image ({err}); pass a PNG or JPEG."
        ) from None
    return im


def read_rgb(path: str | Path) -> np.ndarray:
    """A colour image as (H, W, 3) uint8: RGB as is, RGBA without alpha, palette / CMYK / YCbCr converted.

    Raises:
        InputError: a missing or unreadable file, or a grey (one-channel) image.
    """
    im = _open(path, "rgb")
    if im.mode in _GREY_MODES:
        raise InputError(
            f"rgb={str(path)!r} is a grey image (mode {im.mode}, one channel); pass a colour image with 3 channels "
            "(if grey is really meant, convert it with PIL: Image.open(p).convert('RGB').save(p))."
        )
    if im.mode != "RGB":
        im = im.convert("RGBA" if im.mode in ("P", "PA") else "RGB")
    arr = np.asarray(im)
    return np.ascontiguousarray(arr[..., :3]).astype(np.uint8, copy=False)


def read_depth_png(path: str | Path) -> np.ndarray:
    """A 16-bit depth PNG as (H, W) uint16 (the stored units: mm by convention, 0 = invalid).

    Raises:
        InputError: a missing or unreadable file, a file that is not a PNG, an 8-bit image
            (depth scaled for display, not millimetres), or more than one channel.
    """
    im = _open(path, "depth")
    if im.format != "PNG":
        raise InputError(
            f"depth={str(path)!r} is a {im.format} file; depth must be a 16-bit PNG in millimetres."
        )
    if im.mode in ("1", "L", "P"):
        raise InputError(
            f"depth={str(path)!r} is 8-bit (mode {im.mode}); depth must be 16-bit PNG in millimetres (8-bit depth "
            "is usually scaled for display and has lost its units): export uint16 mm, e.g. with write_depth_png."
        )
    if im.mode not in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        raise InputError(
            f"depth={str(path)!r} has mode {im.mode} ({len(im.getbands())} channel(s)); depth must be a "
            "single-channel 16-bit PNG in millimetres."
        )
    arr = np.asarray(im)
    if arr.size and (arr.min() < 0 or arr.max() > 65535):
        raise InputError(f"depth={str(path)!r} holds values outside [0, 65535]; store uint16 millimetres.")
    return arr.astype(np.uint16)


def _atomic_png(image: Any, path: str | Path, what: str) -> Path:
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise InputError(f"{what}: the folder of {str(path)!r} does not exist; create it first.")
    if target.suffix.lower() != ".png":
        raise InputError(f"{what}: path={str(path)!r} must end in .png (the file is written as PNG).")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_depth_png(path: str | Path, depth: np.ndarray) -> Path:
    """Write (H, W) uint16 depth (mm, 0 = invalid) as a 16-bit grey PNG, atomically; returns the path.

    Raises:
        InputError: ``depth`` not a 2-D uint16 array, a missing folder, or a path not ending in .png.
    """
    from PIL import Image

    if not isinstance(depth, np.ndarray) or depth.ndim != 2 or depth.dtype != np.uint16:
        got = (
            f"{depth.dtype} of shape {depth.shape}" if isinstance(depth, np.ndarray) else type(depth).__name__
        )
        raise InputError(
            f"depth is {got}; it must be a 2-D uint16 array of millimetres (one frame: clip.depth[t]; convert "
            "with np.clip(np.rint(z_mm), 0, 65535).astype(np.uint16))."
        )
    return _atomic_png(Image.fromarray(np.ascontiguousarray(depth)), path, "write_depth_png")


def write_rgb_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write (H, W, 3) uint8 colour as a PNG, atomically; returns the path.

    Raises:
        InputError: ``rgb`` not an (H, W, 3) uint8 array, a missing folder, or a path not ending in .png.
    """
    from PIL import Image

    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        got = f"{rgb.dtype} of shape {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(f"rgb is {got}; it must be an (H, W, 3) uint8 array (one frame: clip.rgb[t]).")
    return _atomic_png(Image.fromarray(np.ascontiguousarray(rgb)), path, "write_rgb_png")


def _pairs(root: Path, layout: str) -> list[tuple[str, Path, Path]]:
    """(name, rgb path, depth path) of every pair, sorted by name; errors for unpaired files."""
    if layout == "folders":
        rgb_dir, depth_dir = root / "rgb", root / "depth"
        rgb_files = (
            [p for p in rgb_dir.iterdir() if p.suffix.lower() in RGB_SUFFIXES] if rgb_dir.is_dir() else []
        )
        depth = (
            {p.stem: p for p in depth_dir.iterdir() if p.suffix.lower() == ".png"}
            if depth_dir.is_dir()
            else {}
        )
        rgb_named = [(p.stem, p) for p in rgb_files]
        expect = "root/depth/NAME.png"
    else:
        files = [p for p in root.iterdir() if p.is_file()]
        rgb_named = [
            (p.stem[:-4], p) for p in files if p.stem.endswith("_rgb") and p.suffix.lower() in RGB_SUFFIXES
        ]
        depth = {p.stem[:-6]: p for p in files if p.stem.endswith("_depth") and p.suffix.lower() == ".png"}
        expect = "root/NAME_depth.png"
    if not rgb_named:
        raise InputError(
            f"root={str(root)!r}: no RGB-D pairs found (layout={layout!r}); expected root/rgb/NAME.png + "
            "root/depth/NAME.png (layout='folders') or root/NAME_rgb.png|jpg + root/NAME_depth.png (layout='suffix')."
        )
    seen: dict[str, Path] = {}
    for name, p in rgb_named:
        if name in seen:
            raise InputError(
                f"root={str(root)!r}: two colour images for {name!r} ({seen[name].name}, {p.name}); keep one."
            )
        seen[name] = p
    lonely = sorted(set(seen) - set(depth))
    if lonely:
        raise InputError(
            f"root={str(root)!r}: {len(lonely)} RGB image(s) without depth, first {seen[lonely[0]].name!r} "
            f"(expected {expect.replace('NAME', lonely[0])}); add the depth PNGs or remove those images."
        )
    orphans = sorted(set(depth) - set(seen))
    if orphans:
        raise InputError(
            f"root={str(root)!r}: {len(orphans)} depth PNG(s) without an RGB image, first {depth[orphans[0]].name!r}; "
            "add the colour images or move those files out of the folder."
        )
    return [(name, seen[name], depth[name]) for name in sorted(seen)]


def load_rgbd_folder(
    root: str | Path,
    *,
    layout: Literal["auto", "folders", "suffix"] = "auto",
    intrinsics: Sequence[float] | None = None,
    depth_unit_mm: float = 1.0,
) -> list[RGBDClip]:
    """Read every (RGB, depth) pair of ``root`` into one-frame :class:`~infomm.data.RGBDClip` s.

    Args:
        root: the folder (layouts in the module docstring).
        layout: ``"folders"`` (``rgb/`` + ``depth/``), ``"suffix"`` (``NAME_rgb`` + ``NAME_depth``) or
            ``"auto"``: folders when ``root/rgb`` and ``root/depth`` exist, else suffix.
        intrinsics: (fx, fy, cx, cy) of the colour camera in pixels. None uses
            :data:`NYU_V2_INTRINSICS` scaled by (W / 640, H / 480): right for NYU-Depth-v2 frames,
            an approximation for anything else (pass your camera's).
        depth_unit_mm: millimetres per stored depth unit (TUM RGB-D: 0.2); values are rescaled,
            rounded and clipped to uint16 mm.

    Returns:
        clips sorted by NAME; ``meta`` holds ``name``, ``rgb_path``, ``depth_path``.

    Raises:
        InputError: a missing root, no pairs, an RGB image without depth (or the reverse), two
            colour images of one name, RGB and depth of different sizes, a grey colour image, an
            8-bit or multi-channel depth image, a bad ``layout``, ``intrinsics`` or ``depth_unit_mm``.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise InputError(f"root={str(root)!r} is not a folder; pass the folder of RGB-D pairs.")
    if layout not in ("auto", "folders", "suffix"):
        raise InputError(f"layout={layout!r} is not known; use 'auto', 'folders' or 'suffix'.")
    if not (isinstance(depth_unit_mm, (int, float)) and np.isfinite(depth_unit_mm) and depth_unit_mm > 0):
        raise InputError(f"depth_unit_mm={depth_unit_mm!r} must be a positive number (mm per stored unit).")
    if layout == "auto":
        layout = "folders" if (base / "rgb").is_dir() and (base / "depth").is_dir() else "suffix"
    clips = []
    for name, rgb_path, depth_path in _pairs(base, layout):
        rgb, depth = read_rgb(rgb_path), read_depth_png(depth_path)
        if rgb.shape[:2] != depth.shape:
            raise InputError(
                f"{name!r}: RGB {rgb_path.name} is {rgb.shape[1]}x{rgb.shape[0]} but depth {depth_path.name} is "
                f"{depth.shape[1]}x{depth.shape[0]} (width x height); register and resize depth to the colour camera."
            )
        if depth_unit_mm != 1.0:
            depth = np.clip(np.rint(depth * float(depth_unit_mm)), 0, 65535).astype(np.uint16)
        h, w = depth.shape
        if intrinsics is None:
            fx, fy, cx, cy = NYU_V2_INTRINSICS
            k: Sequence[float] = (fx * w / 640, fy * h / 480, cx * w / 640, cy * h / 480)
        else:
            k = intrinsics
        meta = {"name": name, "rgb_path": str(rgb_path), "depth_path": str(depth_path), "layout": layout}
        clips.append(RGBDClip(rgb[None], depth[None], tuple(k), meta=meta))  # type: ignore[arg-type]
    return clips
