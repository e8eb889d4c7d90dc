"""Interaction tables, the Markdown section and the figures (infomm.interactions.report / .plots)."""

import math

import numpy as np
import pytest

from infomm.data.gates import gate_joint
from infomm.interactions import pid
from infomm.interactions.plots import CORNERS, barycentric, plot_interactions
from infomm.interactions.report import fmt_value, interaction_markdown, interaction_table, top_samples
from infomm.interactions.result import lsmi_from_pointwise, lsmi_plugin
from infomm.interface import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
QUANTITIES = ["R", "U1", "U2", "S", "I1", "I2", "I12"]


@pytest.fixture(scope="module")
def sampled():
    """A sample-level result from synthetic surprisals and pointwise MIs (n = 800)."""
    rng = np.random.default_rng(0)
    n = 800
    h1, h2 = rng.gamma(3.0, 1.0, n), rng.gamma(3.0, 1.0, n)
    i1, i2 = rng.normal(0.4, 0.5, n), rng.normal(0.3, 0.5, n)
    i12 = i1 + i2 + rng.normal(0.2, 0.4, n)
    return lsmi_from_pointwise(h1, h2, i1, i2, i12)


def test_table_values_raw_and_no_interval_for_an_exact_distribution():
    res = lsmi_plugin(gate_joint("and")).to("bits")
    rows = interaction_table(res)
    assert [r["quantity"] for r in rows] == QUANTITIES
    for r in rows:
        assert r["value"] == getattr(res, r["quantity"]) and r["unit"] == "bits"
        assert r["low"] is None and r["high"] is None  # cells of a distribution: nothing to resample
    assert [r["raw"] for r in rows[:4]] == [res.raw[a] for a in ("R", "U1", "U2", "S")]
    assert rows[0]["value"] == pytest.approx(0.311278, abs=1e-6)  # AND: R = h(1/4) - 1/2 bits
    assert rows[3]["value"] == pytest.approx(0.5, abs=1e-9)


def test_table_of_an_exact_pid():
    rows = interaction_table(pid(gate_joint("copy"), "broja", unit="bits"))
    values = {r["quantity"]: r["value"] for r in rows}
    assert values["U1"] == pytest.approx(1.0, abs=1e-5) and values["U2"] == pytest.approx(1.0, abs=1e-5)
    assert values["I12"] == pytest.approx(2.0, abs=1e-9)
    assert all(r["raw"] is None and r["low"] is None for r in rows)


def test_bootstrap_intervals_are_those_of_the_result_and_have_the_clt_width(sampled):
    rows = interaction_table(sampled, bootstrap=600, seed=3)
    boot = sampled.bootstrap(600, 0.95, 3)
    for r in rows:
        assert (r["low"], r["high"]) == boot[r["quantity"]]
    i12 = next(r for r in rows if r["quantity"] == "I12")
    assert i12["low"] < sampled.I12 < i12["high"]
    # a mean's 95 % interval is about 2 * 1.96 standard errors wide
    se = sampled.per_sample["i12"].std() / math.sqrt(sampled.n)
    assert (i12["high"] - i12["low"]) == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert all(r["low"] is None for r in interaction_table(sampled, bootstrap=0))


def test_table_rejects_bad_arguments(sampled):
    with pytest.raises(InputError, match="LSMIResult"):
        interaction_table({"R": 0.0})
    with pytest.raises(InputError, match="bootstrap"):
        interaction_table(sampled, bootstrap=-1)


def test_top_samples_are_the_largest_per_sample_atoms(sampled):
    top = top_samples(sampled, 4)
    assert list(top) == ["R", "U1", "U2", "S"]
    for atom, idx in top.items():
        values = sampled.per_sample[atom.lower()]
        assert idx == np.argsort(-values, kind="stable")[:4].tolist()
        assert values[idx[0]] == values.max()
    assert top_samples(pid(gate_joint("xor"), "mmi")) == {}


def test_markdown_holds_the_values_band_adjustment_and_top_samples(sampled):
    rows = interaction_table(sampled, bootstrap=200, seed=0)
    md = interaction_markdown(sampled, rows=rows, k=3, heading=3, title="Interactions")
    assert md.startswith("### Interactions\n") and md.endswith("\n")
    for r in rows:
        assert (
            f"| {r['quantity']} | {fmt_value(r['value'])} | [{fmt_value(r['low'])}, {fmt_value(r['high'])}] |"
            in md
        )
    assert f"[{fmt_value(sampled.band[0])}, {fmt_value(sampled.band[1])}]" in md
    assert ("Adjusted: yes" in md) == sampled.clipped
    s_top = int(np.argmax(sampled.per_sample["s"]))
    assert f"* S: {s_top} ({fmt_value(sampled.per_sample['s'][s_top], 3)})" in md
    assert "800 samples" in md


def test_markdown_of_a_clipped_exact_result_and_of_flags():
    res = lsmi_plugin(gate_joint("and")).to("bits")
    md = interaction_markdown(res)
    assert res.clipped and "Adjusted: yes" in md and f"{res.shift:+.4f}" in md
    assert "| S | 0.5000 |" in md and "| R | 0.3113 |" in md
    assert "interval" not in md.split("\n\n")[2].splitlines()[0]  # no interval column for cells
    # a miscalibrated unimodal classifier (mean pointwise I1 < 0) is flagged in the report
    rng = np.random.default_rng(1)
    n = 200
    bad = lsmi_from_pointwise(
        rng.gamma(3, 1, n),
        rng.gamma(3, 1, n),
        rng.normal(-0.3, 0.1, n),
        rng.normal(0.3, 0.1, n),
        np.full(n, 0.5),
    )
    assert bad.flags
    md = interaction_markdown(bad, bootstrap=50)
    assert all(f"`{f.code.value}`" in md and f.message in md for f in bad.flags)


def test_markdown_of_an_exact_pid_reports_the_few_samples_warning():
    x1 = np.array([0, 0, 1, 1] * 5)
    x2 = np.array([0, 1, 0, 1] * 5)
    from infomm.interactions import pid_from_samples

    res = pid_from_samples(x1, x2, x1 ^ x2, "mmi", unit="bits")
    md = interaction_markdown(res)
    assert "| S | 1.0000 |" in md and "`mmi` on 20 samples" in md
    assert res.details["warning"] in md


def test_fmt_value_drops_the_sign_of_a_rounded_zero():
    assert fmt_value(-1e-12) == "0.0000" and fmt_value(-0.25, 2) == "-0.25" and fmt_value(None) == ""


def test_barycentric_places_pure_atoms_on_the_corners():
    xy, keep = barycentric(
        [2.0, 0.0, 0.0, 1.0, -1.0, 0.0], [0.0, 3.0, 0.0, 1.0, -1.0, 0.0], [0, 0, 5.0, 1.0, 0, 0]
    )
    assert keep.tolist() == [True, True, True, True, False, False]  # no positive part: dropped
    np.testing.assert_allclose(xy[:3], CORNERS, atol=1e-12)
    np.testing.assert_allclose(xy[3], CORNERS.mean(axis=0), atol=1e-12)  # equal shares: the centroid
    # negative parts count as 0: (r, u, s) = (1, -5, 1) sits halfway between Redundancy and Synergy
    xy, _ = barycentric([1.0], [-5.0], [1.0])
    np.testing.assert_allclose(xy[0], (CORNERS[0] + CORNERS[2]) / 2, atol=1e-12)


def _read_png(path):
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return data, matplotlib.image.imread(path)


def test_plot_of_a_sample_level_result_is_a_two_panel_png(sampled, tmp_path):
    path = plot_interactions(sampled, tmp_path / "sub" / "atoms.png")
    data, img = _read_png(path)
    assert len(data) > 30_000
    h, w = img.shape[:2]
    assert w > 1.8 * h  # histograms beside the triangle
    assert img[..., :3].std() > 0.05  # not a blank canvas
    assert sorted(p.name for p in path.parent.iterdir()) == ["atoms.png"]  # atomic: no temporary left


def test_plot_of_an_exact_pid_and_of_a_plugin_result(tmp_path):
    data, img = _read_png(plot_interactions(pid(gate_joint("and"), "broja"), tmp_path / "bars.png"))
    assert len(data) > 10_000 and img.shape[1] < 1.8 * img.shape[0]  # one panel: the bar chart
    data, _ = _read_png(plot_interactions(lsmi_plugin(gate_joint("and")), tmp_path / "cells.png"))
    assert len(data) > 20_000
    pdf = plot_interactions(lsmi_plugin(gate_joint("xor")), tmp_path / "xor.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_plot_refuses_bad_arguments(sampled, tmp_path):
    with pytest.raises(InputError, match="suffix"):
        plot_interactions(sampled, tmp_path / "atoms.txt")
    with pytest.raises(InputError, match="PIDResult"):
        plot_interactions([0.1, 0.2], tmp_path / "x.png")
    assert not list(tmp_path.iterdir())
