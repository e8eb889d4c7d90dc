"""Smoke run of the balanced-training benchmark (``benchmarks/balancing.py --quick``): the tables mean what they say."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from infomm.data.presets import load_preset
from infomm.functional.omib import beta_upper_bound
from infomm.training import train

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("bench_balancing", ROOT / "benchmarks" / "balancing.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def _fake_fsdd(folder: Path) -> Path:
    """Two 'recordings' per digit: tones whose pitch names the digit (a stand-in for the real FSDD)."""
    import soundfile as sf

    folder.mkdir()
    t = np.arange(2400) / 8000.0
    rng = np.random.default_rng(0)
    for digit in range(10):
        for k, speaker in enumerate(("ann", "bob")):
            wave = 0.3 * np.sin(2 * np.pi * (200 + 150 * digit + 20 * k) * t) + 0.01 * rng.normal(size=t.size)
            sf.write(
                folder / f"{digit}_{speaker}_{k}.wav", (wave * 32767).astype(np.int16), 8000, subtype="PCM_16"
            )
    return folder


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    mod = _script()
    out = tmp_path_factory.mktemp("bench")
    fsdd = _fake_fsdd(tmp_path_factory.mktemp("audio") / "recordings")
    argv = ["--quick", "--out", str(out), "--quiet", "--jobs", "1", "--fsdd-root", str(fsdd)]
    with pytest.MonkeyPatch.context() as mp:
        # train() draws metrics.png after every run (~0.45 s, most of a 3-epoch toy run); the benchmark's
        # numbers do not depend on it, so the smoke run skips the drawing (the benchmark itself does not)
        mp.setattr("infomm.training.plots.plot_history", lambda result, path: path)
        assert mod.main(argv) == 0
    data = json.loads((out / "balancing.json").read_text())
    return mod, data, (out / "balancing.md").read_text()


def test_rows_are_the_engines_test_metrics(bench) -> None:
    mod, data, _ = bench
    cfg = mod.Config.quick()
    row = next(
        r
        for r in data["runs"]
        if (r["source"], r["preset"], r["seed"], r["method"]) == ("espeak", "B", 1, "egh")
    )
    ds = load_preset("B", seed=1, n_per_class=cfg.n_per_class)
    with tempfile.TemporaryDirectory() as tmp:
        res = train(ds, "egh", tmp, epochs=cfg.epochs, seed=1, resume=False)
    assert row["test"] == pytest.approx(res.test, abs=1e-12)  # same seed, one thread: the same run
    expect = {(s, p, m) for s in cfg.seeds for p in cfg.presets for m in cfg.methods}
    got = {(r["seed"], r["preset"], r["method"]) for r in data["runs"] if r["source"] == "espeak"}
    assert got == expect
    fsdd = {(r["preset"], r["method"]) for r in data["runs"] if r["source"] == "fsdd"}
    assert fsdd == {(p, m) for p in cfg.fsdd_presets for m in cfg.fsdd_methods} and data["fsdd"]["found"]


def test_summary_is_mean_and_sample_std_in_points(bench) -> None:
    _, data, _ = bench
    for s in data["summary"]["accuracy"]:
        rows = [
            r
            for r in data["runs"]
            if (r["source"], r["preset"], r["method"]) == (s["source"], s["preset"], s["method"])
        ]
        for key in ("accuracy", "accuracy_without/audio", "accuracy_noised/image", "accuracy/image"):
            v = 100 * np.array([r["test"][key] for r in rows])
            assert s[key]["mean"] == pytest.approx(v.mean()) and s[key]["n"] == len(rows)
            assert s[key]["std"] == pytest.approx(v.std(ddof=1) if len(rows) > 1 else 0.0)


def test_conflict_rows_partition_the_test_split(bench) -> None:
    _, data, _ = bench
    rows = [r for r in data["runs"] if r["preset"] == "C"]
    assert rows and all(r["subsets"] is not None for r in rows)
    assert all(r["subsets"] is None for r in data["runs"] if r["preset"] == "B")  # no conflicts there
    for r in rows:
        sub = r["subsets"]
        assert set(sub) == {"none", "image", "audio"} and sum(v["n"] for v in sub.values()) == r["test"]["n"]
        correct = sum(v["accuracy"] * v["n"] for v in sub.values() if v["n"])
        assert correct / r["test"]["n"] == pytest.approx(r["test"]["accuracy"], abs=1e-12)


def test_imbalance_index_is_the_largest_probe_gap(bench) -> None:
    mod, data, _ = bench
    assert {(r["preset"], r["seed"]) for r in data["imbalance"]} == {
        (p, s) for p in mod.Config.quick().presets for s in mod.Config.quick().seeds
    }
    for r in data["imbalance"]:
        assert r["ib"] == pytest.approx(100 * max(abs(r["joint"][m] - r["alone"][m]) for m in r["joint"]))
        assert r["joint_equals_run"] is None  # measured under PAPER_PROTOCOL, not the table's protocol
    s = next(x for x in data["summary"]["imbalance"] if (x["preset"], x["method"]) == ("B", "concat"))
    assert s["ib"]["mean"] == pytest.approx(
        np.mean([r["ib"] for r in data["imbalance"] if r["preset"] == "B"])
    )
    assert data["checks"]["ib_concat_B"]["met"] == (s["ib"]["mean"] >= 7.0)


def test_omib_rows_use_the_calibrated_bound(bench) -> None:
    mod, data, _ = bench
    cfg = mod.Config.quick()
    for b in data["omib_bounds"]:
        p = b["parts"]  # Prop. 5.7 with r = 1
        assert b["m_u"] == pytest.approx(beta_upper_bound(p["h/m1"], p["h/m2"], p["mi"], 1.0), rel=1e-12)
    for r in data["omib"]:
        assert r["beta"] == pytest.approx(r["factor"] * r["m_u"]) and len(r["r"]) == cfg.epochs
        assert r["r"][0] == 1.0 and all(0.0 <= x <= 2.0 for x in r["r"])  # warm-up epoch, then Eq. 11's range
    for t in data["summary"]["omib"]["r"]:
        rows = [
            r["r"]
            for r in data["omib"]
            if r["orientation"] == t["orientation"] and r["factor"] == t["factor"]
        ]
        assert t["after_warmup"] == pytest.approx(np.mean([x[1:] for x in rows]))


def test_step_time_ratios_are_arithmetic_of_the_rounds(bench) -> None:
    mod, data, _ = bench
    cfg = mod.Config.quick()
    assert list(data["timing"]) == list(cfg.timing_scales) == ["mlp", "resnet18", "features"]
    for scale, t in data["timing"].items():
        big = scale == "resnet18"
        methods = cfg.methods if scale == "mlp" else cfg.resnet_methods
        assert list(t["methods"]) == list(methods)
        assert len(next(iter(t["methods"].values()))["round_ms"]) == (
            cfg.resnet_rounds if big else cfg.timing_rounds
        )
        assert t["batch"] == (cfg.timing_batch if scale == "mlp" else cfg.resnet_batch)
        base = t["methods"]["concat"]
        for r in t["methods"].values():
            assert all(x > 0 for x in r["round_ms"])
            assert r["median_ms"] == pytest.approx(np.median(r["round_ms"]))
            assert r["ratio"] == pytest.approx(r["median_ms"] / base["median_ms"])
            assert r["paired_ratio"] == pytest.approx(np.median(np.divide(r["round_ms"], base["round_ms"])))
            assert set(r["phases_ms"]) == set(mod.PHASES)
        if scale == "mlp":
            v = data["checks"]["step_time"][scale]["egh"]
            assert v["met"] == (t["methods"]["egh"]["ratio"] < 1.03)
    full, feats = data["timing"]["resnet18"], data["timing"]["features"]
    for m, v in data["checks"]["step_time"]["resnet18"].items():  # the extra work, timed apart
        head = feats["methods"][m]["median_ms"] - feats["methods"]["concat"]["median_ms"]
        ab = (
            full["methods"][m]["phases_ms"]["after_backward"]
            - full["methods"]["concat"]["phases_ms"]["after_backward"]
        )
        assert v["ratio"] == pytest.approx(1 + (head + ab) / full["methods"]["concat"]["median_ms"])
        assert v["whole_step_ratio"] == full["methods"][m]["ratio"] and v["met"] == (v["ratio"] < v["target"])
    assert feats["encoder_parameters"] == {m: 0 for m, _ in cfg.resnet_shapes}  # no encoders there
    t = data["timing"]["resnet18"]  # the engine's ResNet-18 on the configured shapes
    assert t["shapes"] == {m: list(sh) for m, sh in cfg.resnet_shapes} and t["optimizer"] == "sgd"
    from infomm.models import ResNetEncoder

    want = {m: sum(p.numel() for p in ResNetEncoder.resnet18(sh).parameters()) for m, sh in cfg.resnet_shapes}
    assert t["encoder_parameters"] == want
    assert data["checks"]["step_time_judged_at"] == "resnet18"


def test_only_reruns_the_named_sections(bench, tmp_path) -> None:
    mod, data, _ = bench
    (tmp_path / "balancing.json").write_text(json.dumps(data))
    argv = ["--quick", "--out", str(tmp_path), "--quiet", "--jobs", "1", "--only", "omib"]
    assert mod.main(argv) == 0
    new = json.loads((tmp_path / "balancing.json").read_text())
    assert new["runs"] == data["runs"] and new["timing"] == data["timing"]  # kept as they were
    assert new["imbalance"] == data["imbalance"]
    assert {(r["seed"], r["factor"]) for r in new["omib"]} == {(r["seed"], r["factor"]) for r in data["omib"]}
    assert new["section_runs"]["omib"]["together_with"] == ["omib"]
    from infomm.interface import InputError

    with pytest.raises(InputError, match="--only"):
        mod.main(["--quick", "--out", str(tmp_path), "--only", "nothing"])
    with pytest.raises(InputError, match="full run"):
        mod.main(["--quick", "--out", str(tmp_path / "empty"), "--only", "timing"])


def test_checks_on_given_numbers() -> None:
    mod = _script()

    def run(method: str, preset: str, seed: int, acc: float) -> dict:
        return {
            "source": "espeak",
            "preset": preset,
            "seed": seed,
            "method": method,
            "test": {"accuracy": acc},
        }

    accs = {  # fractions per seed (0, 1)
        ("B", "concat"): (0.900, 0.910), ("B", "concat-aux"): (0.920, 0.930), ("B", "egh"): (0.926, 0.936),
        ("B", "ogm-ge"): (0.895, 0.895), ("C", "concat"): (0.800, 0.800), ("C", "concat-aux"): (0.820, 0.820),
        ("C", "mmpareto"): (0.830, 0.830), ("C", "egh"): (0.855, 0.865), ("C", "ogm-ge"): (0.750, 0.770),
    }  # fmt: skip
    runs = [run(m, p, s, a[s]) for (p, m), a in accs.items() for s in (0, 1)]
    summary = {
        "accuracy": [
            {"source": "espeak", "preset": p, "method": m, "accuracy": {"mean": 100 * np.mean(a)}}
            for (p, m), a in accs.items()
        ],
        "imbalance": [{"preset": "B", "method": "concat", "ib": {"mean": 6.9, "std": 1.0}}],
        "omib": {
            "r": [
                {"orientation": [2.0, 0.5], "factor": 1.0, "after_warmup": 0.8},
                {"orientation": [0.5, 2.0], "factor": 1.0, "after_warmup": 0.9},
            ],
            "sweep": [
                {"orientation": [2.0, 0.5], "factor": f, "accuracy": {"mean": a}}
                for f, a in ((0.0, 80.0), (0.1, 81.5), (1.0, 80.0), (10.0, 74.0))
            ],
        },
    }
    timing = {  # the older one-scale layout of the file: read as the MLP scale
        "methods": {"egh": {"ratio": 1.02}, "ogm-ge": {"ratio": 1.06}, "omib": {"ratio": 1.30}}
    }
    data = {"settings": {"presets": ["B", "C"]}, "runs": runs, "summary": summary, "timing": timing}
    c = mod.checks(data)
    b = c["egh_vs_aux_B"]  # 93.1 - 92.5 = 0.6 >= 0.5
    assert b["diff"] == pytest.approx(0.6) and b["met"] and b["paired"]["mean"] == pytest.approx(0.6)
    cc = c["egh_vs_best_C"]  # best baseline mmpareto 83.0; EGH 86.0: +3.0
    assert cc["best"] == "mmpareto" and cc["diff"] == pytest.approx(3.0) and cc["met"]
    o = c["ogm_vs_concat"]  # B: 90.5 - 89.5 = 1.0 (allowed), C: 80 - 76 = 4 (not)
    assert o["presets"]["B"]["loss"] == pytest.approx(1.0) and o["presets"]["C"]["loss"] == pytest.approx(4.0)
    assert not o["met"]
    assert not c["ib_concat_B"]["met"]
    r = c["omib_r"]["orientations"]  # (0.5, 2): m2 informative, r must exceed 1
    assert r["2,0.5"]["met"] and not r["0.5,2"]["met"] and not c["omib_r"]["met"]
    beta = c["omib_beta"]["orientations"]["2,0.5"]
    assert beta["best_factor"] == 0.1 and beta["gap_to_best"] == pytest.approx(1.5) and beta["within_2"]
    assert beta["drop_at_10"] == pytest.approx(6.0) and beta["drops_5"]
    assert {m: v["met"] for m, v in c["step_time"]["mlp"].items()} == {
        "egh": True,
        "ogm-ge": False,
        "omib": True,
    }
    assert c["step_time_judged_at"] == "mlp"  # the only scale there
    cc_data = copy.deepcopy(data)
    cc_data["runs"] = [x for x in runs if x["method"] != "mmpareto"]
    cc_data["summary"]["accuracy"] = [x for x in summary["accuracy"] if x["method"] != "mmpareto"]
    assert mod.checks(cc_data)["egh_vs_best_C"]["best"] == "concat-aux"  # the best of the baselines present


def test_markdown_reports_the_numbers(bench) -> None:
    mod, data, text = bench
    assert text.startswith("# Balanced-training benchmark") and text == mod.render_markdown(data)
    assert "## Verdicts" in text and "Free Spoken Digit" in text and "## Step time" in text
    ib = data["checks"]["ib_concat_B"]
    assert f"{ib['ib']:.1f} ± {ib['std']:.1f}" in text
    egh = data["checks"]["egh_vs_aux_B"]
    assert f"{egh['egh']:.2f} vs {egh['concat-aux']:.2f}: {egh['diff']:+.2f}" in text
    assert ("EGH beats `concat-aux`" in text) == egh["met"]
    gone = copy.deepcopy(data)
    gone["fsdd"] = {"found": False, "note": "no FSDD recordings folder"}
    assert "Skipped: no FSDD recordings folder." in mod.render_markdown(gone)
