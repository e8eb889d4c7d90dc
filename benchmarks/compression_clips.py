"""Clips and vector quantization: ``results/compression_clips.json`` and ``.md``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/compression_clips.py                 # full run (5-10 min)
    python benchmarks/compression_clips.py --render                          # Markdown from the JSON
    python benchmarks/compression_clips.py --quick --out /tmp/bench          # smoke run

Four codecs on the same synthetic RGB-D clips (seeded, windows of 2 frames, 20 % of the windows
held out), one lambda, the same backbone and training length:

* ``temporal joint`` / ``temporal separate`` (scalar quantizer): frame 1 coded given frame 0's
  decoded latents; the separate codec uses time too, not the other modality. Reported: the bits of
  the intra frame 0 and of the predicted frame 1 (real bitstreams), and joint vs separate;
* ``vq joint`` / ``vq separate`` (single frames): private latents vector-quantized (EMA codebook of
  64 codes), indices coded under a categorical model given ``s_hat`` (joint) or a marginal one.

Every held-out item is coded to a file and decoded; ``bit_exact`` says the decoder's output equals
the eval-mode forward for all of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from infomm.atomic import write_json, write_text
from infomm.bench import environment

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = {
    "temporal joint": {"temporal": True, "conditional": True},
    "temporal separate": {"temporal": True, "conditional": False},
    "vq joint": {"quantizer": "vq", "conditional": True},
    "vq separate": {"quantizer": "vq", "conditional": False},
}


def run(work: Path, quick: bool) -> dict[str, Any]:
    from infomm.compression.training import fit_codec
    from infomm.data import synthetic_rgbd

    settings: dict[str, Any] = {
        "clips": 8 if quick else 96,
        "frames": 4,
        "size": 32,
        "lmbda": 0.01,
        "epochs": 1 if quick else 60,
        "batch_size": 4 if quick else 16,
        "channels": 8 if quick else 16,
        "shared": 4 if quick else 8,
        "private": 2 if quick else 8,
        "clip_length": 2,
    }
    clips = synthetic_rgbd(settings["clips"], frames=settings["frames"], size=(settings["size"],) * 2, seed=0)
    opts = {
        k: settings[k]
        for k in ("lmbda", "epochs", "batch_size", "channels", "shared", "private", "clip_length")
    }
    rows: dict[str, Any] = {}
    for name, extra in MODELS.items():
        t0 = time.perf_counter()
        print(f"  {name}", flush=True)
        fitted = fit_codec(clips, work / name.replace(" ", "-"), threads=1, **opts, **extra)
        m = fitted.metrics
        rows[name] = {
            "items": m.get("clips", m["frames"]),
            "bpp_actual": m["bpp_actual"],
            "bpp_estimated": m["bpp_estimated"],
            "bpp_by_frame": m.get("bpp_by_frame"),
            "psnr_rgb": m["psnr_rgb"],
            "depth_rmse_mm": m["depth_rmse_mm"],
            "bit_exact": m["bit_exact"],
            "final_loss": fitted.history[-1]["loss"],
            "wall_s": time.perf_counter() - t0,
        }
    return {"settings": settings, "models": rows}


def _private_bpp(row: dict[str, Any]) -> float:
    return float(row["bpp_actual"]["rgb"] + row["bpp_actual"]["depth"])


def render(res: dict[str, Any]) -> str:
    s = res["settings"]
    lines = [
        "# Clips and vector quantization",
        "",
        f"Machine: {res['environment']}",
        "",
        f"`synthetic_rgbd({s['clips']}, frames={s['frames']}, size={s['size']})`, windows of "
        f"{s['clip_length']} frames (clip models) or frames (VQ models), 20 % held out; lambda {s['lmbda']}, "
        f"channels {s['channels']}, shared {s['shared']}, private {s['private']}, {s['epochs']} epochs of batch "
        f"{s['batch_size']}. Bits are range-coded files of the held-out items, per pixel of one frame.",
        "",
        "| model | bpp total | shared / rgb / depth | frame 0 / frame 1 (streams) | PSNR-RGB | depth RMSE (mm) "
        "| decoded = forward |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in res["models"].items():
        a = r["bpp_actual"]
        by = " / ".join(f"{v:.4f}" for v in r["bpp_by_frame"]) if r["bpp_by_frame"] else "-"
        lines.append(
            f"| {name} | {a['total']:.4f} | {a['shared']:.4f} / {a['rgb']:.4f} / {a['depth']:.4f} | {by} "
            f"| {r['psnr_rgb']:.2f} | {r['depth_rmse_mm']:.1f} | {'yes' if r['bit_exact'] else 'NO'} |"
        )
    m = res["models"]
    lines.append("")
    for kind in ("temporal", "vq"):
        j, sep = m[f"{kind} joint"], m[f"{kind} separate"]
        lines.append(
            f"* {kind}: joint vs separate total bits {100 * (j['bpp_actual']['total'] / sep['bpp_actual']['total'] - 1):+.1f} %, "
            f"private streams {100 * (_private_bpp(j) / _private_bpp(sep) - 1):+.1f} %, at "
            f"{j['psnr_rgb'] - sep['psnr_rgb']:+.2f} dB PSNR-RGB and "
            f"{j['depth_rmse_mm'] - sep['depth_rmse_mm']:+.1f} mm depth RMSE"
        )
    for name in ("temporal joint", "temporal separate"):
        by = m[name]["bpp_by_frame"]
        lines.append(
            f"* {name}: predicted frame 1 {100 * (by[1] / by[0] - 1):+.1f} % bits against intra frame 0"
        )
    cap = math.log2(64) * (s["size"] // 16) ** 2 / s["size"] ** 2
    lines += [
        "",
        "Reading: the clip models' predicted frame costs a third to a half less than the intra frame, "
        "and the joint clip codec spends fewer bits than the separate one (which also predicts from "
        "time) at about the same quality. A VQ private latent carries at most log2(64) = 6 bits per "
        f"latent position, {cap:.4f} bpp at this frame size (16x downsampling); the VQ models' "
        "private streams (0.031-0.032 bpp) are little more than the range coder's minimum of one 32-bit "
        "word, and they put the rest into the shared latent, so their joint-vs-separate "
        "difference is small. One seed, CPU-length training (PSNR under 20 dB): the models are not "
        "converged, and the numbers show that the paths work end to end with real bitstreams, not "
        "how large the savings are at convergence.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "infomm-clips")
    ap.add_argument("--render", action="store_true", help="rewrite the Markdown from the JSON")
    args = ap.parse_args()
    if args.render:
        res = json.loads((args.out / "compression_clips.json").read_text())
        write_text(args.out / "compression_clips.md", render(res))
        return
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    res = run(args.work, args.quick)
    res["environment"] = environment()
    res["wall_s"] = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "compression_clips.json", res)
    text = render(res)
    write_text(args.out / "compression_clips.md", text)
    print(text)


if __name__ == "__main__":
    main()
