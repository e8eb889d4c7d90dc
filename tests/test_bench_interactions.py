"""Smoke run of the interactions benchmark (``benchmarks/interactions.py --quick``): the tables mean what they say."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from infomm.data.gates import EmbeddedGate, gate_joint
from infomm.interactions import pid
from infomm.interactions.result import lsmi_plugin
from infomm.interactions.sample_level import LSMI

ROOT = Path(__file__).resolve().parents[1]
ATOMS = ("R", "U1", "U2", "S")
LN2 = math.log(2.0)


def _script():
    spec = importlib.util.spec_from_file_location(
        "bench_interactions", ROOT / "benchmarks" / "interactions.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    mod = _script()
    out = tmp_path_factory.mktemp("bench")
    assert mod.main(["--quick", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "interactions.json").read_text())
    return mod, data, (out / "interactions.md").read_text()


def test_plugin_rows_are_exact_and_copy_differs_by_design(bench) -> None:
    _, data, _ = bench
    rows = {r["gate"]: r for r in data["plugin"]}
    assert set(rows) == {"xor", "copy"}
    for name, r in rows.items():
        plug, broja = lsmi_plugin(gate_joint(name)), pid(gate_joint(name), "broja")
        assert r["plugin"] == pytest.approx({a: getattr(plug, a) for a in ATOMS}, abs=1e-12)
        assert r["broja"] == pytest.approx({a: getattr(broja, a) for a in ATOMS}, abs=1e-9)
    # I±: COPY gives R = S = ln 2 where BROJA gives U1 = U2 = ln 2; XOR agrees (pure synergy)
    assert rows["copy"]["plugin"] == pytest.approx({"R": LN2, "U1": 0.0, "U2": 0.0, "S": LN2}, abs=1e-9)
    assert rows["copy"]["max_abs_diff"] == pytest.approx(LN2) and rows["copy"]["differs_by_design"]
    assert rows["xor"]["max_abs_diff"] < 1e-9 and not rows["xor"]["differs_by_design"]


def test_accuracy_rows_are_lsmi_oracle_and_truth_on_the_same_samples(bench) -> None:
    mod, data, _ = bench
    cfg = mod.Config.quick()
    row = next(r for r in data["accuracy"] if r["gate"] == "xor")
    gate = EmbeddedGate("xor", dim=row["dim"], seed=cfg.seed)
    x1, x2, y = gate.sample(cfg.n_train, seed=cfg.seed)
    t1, t2, ty = gate.sample(cfg.n_test, seed=cfg.seed + 1)
    oracle = gate.oracle(t1, t2, ty)
    assert row["oracle"] == pytest.approx({a: getattr(oracle, a) for a in ATOMS}, abs=1e-12)
    assert row["truth"] == pytest.approx({"R": 0.0, "U1": 0.0, "U2": 0.0, "S": LN2}, abs=1e-6)
    # the same seed on the same arrays reproduces the fit (one torch thread)
    res = LSMI(seed=cfg.seed).fit(x1, x2, y).decompose(t1, t2, ty)
    assert row["lsmi"] == pytest.approx({a: getattr(res, a) for a in ATOMS}, abs=1e-9)
    for r in data["accuracy"]:
        assert r["err_oracle"] == pytest.approx(max(abs(r["lsmi"][a] - r["oracle"][a]) for a in ATOMS))
        assert r["err_truth"] == pytest.approx(max(abs(r["lsmi"][a] - r["truth"][a]) for a in ATOMS))
        assert r["within_oracle"] == (r["err_oracle"] <= mod.TOLERANCE)
        assert r["differs_by_design"] == (r["gate"] == "copy")
    acc = data["checks"]["accuracy"]
    assert acc["within"] == sum(r["within_oracle"] for r in data["accuracy"]) and acc["rows"] == 2


def test_runtime_rows_and_checks_are_arithmetic_of_the_timings(bench) -> None:
    mod, data, _ = bench
    rt = data["runtime"]
    assert [r["n"] for r in rt["vs_n"]] == [200, 400]
    assert [(r["dim"], r["projection"]) for r in rt["vs_dim"]] == [(4, None), (8, None), (8, 4)]
    assert rt["vs_dim"][1] == rt["vs_n"][0]  # the shared point is measured once
    for r in rt["vs_n"] + rt["vs_dim"]:
        assert r["folds"] == 2 and r["wall_seconds"] > 0 and r["cpu_seconds"] > 0
        assert r["us_per_sample_wall"] == pytest.approx(1e6 * r["wall_seconds"] / r["n"])
    lin = data["checks"]["linear"]
    assert lin["size_ratio"] == 2 and lin["ratio_cpu"] == pytest.approx(
        rt["vs_n"][1]["cpu_seconds"] / rt["vs_n"][0]["cpu_seconds"]
    )
    assert lin["linear"] == (lin["ratio_cpu"] <= mod.LINEAR_SLACK * 2)
    assert data["checks"]["target_60s"] is None  # no n = 10,000 x dim 64 point in a quick run
    ext = data["checks"]["extrapolation"]
    assert ext["minutes"] == pytest.approx(rt["vs_n"][-1]["us_per_sample_wall"] * 1e5 / 1e6 / 60)


def test_markdown_reports_the_numbers(bench) -> None:
    mod, data, text = bench
    assert text.startswith("# Interactions benchmark (LSMI)")
    assert "I± differs from BROJA by design" in text and "7-11 minutes" in text
    xor = next(r for r in data["accuracy"] if r["gate"] == "xor")
    assert f"{xor['err_oracle']:.4f}" in text
    assert text == mod.render_markdown(data)


def test_checks_verdicts_on_given_timings() -> None:
    mod = _script()

    def point(n: int, wall: float, dim: int = 64) -> dict:
        return {
            "n": n,
            "dim": dim,
            "projection": None,
            "wall_seconds": wall,
            "cpu_seconds": wall,
            "us_per_sample_wall": 1e6 * wall / n,
        }

    data = {
        "runtime": {"vs_n": [point(1000, 3.0), point(10_000, 20.0), point(50_000, 130.0)], "vs_dim": []},
        "accuracy": [{"within_oracle": True}, {"within_oracle": False}],
    }
    c = mod.checks(data)
    # 130 / 20 = 6.5 > 1.2 * 5: faster than linear; 20 s < 60 s; 2600 us/sample -> 100k in 4.33 min
    assert not c["linear"]["linear"] and c["linear"]["ratio_wall"] == pytest.approx(6.5)
    assert c["target_60s"] == {"wall_seconds": 20.0, "cpu_seconds": 20.0, "met": True}
    assert c["accuracy"] == {"within": 1, "rows": 2, "met": False}
    assert c["extrapolation"]["minutes"] == pytest.approx(2600 * 1e5 / 1e6 / 60)
    data["runtime"]["vs_n"][-1] = point(50_000, 90.0)
    assert mod.checks(data)["linear"]["linear"]
