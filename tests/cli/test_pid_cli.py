"""`infomm pid`: partial information decomposition from files, called in-process through `main(argv)`."""

import json
import math

import numpy as np
import pytest

from infomm.cli.main import main
from infomm.interactions import IPM
from infomm.interactions.result import PER_SAMPLE_KEYS, lsmi_from_pointwise

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def bad_input(capsys, argv):
    """Run ``argv``, expect exit code 2 and one clear line on stderr; return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error:") and "Traceback" not in err
    assert err.strip().count("\n") == 0, err
    return err


@pytest.fixture
def gate_files(tmp_path):
    """Discrete gate samples with exactly balanced cells (so plug-in values are exact)."""

    def write(name, x1, x2, y):
        paths = []
        for key, arr in (("x1", x1), ("x2", x2), ("y", y)):
            paths.append(tmp_path / f"{name}_{key}.npy")
            np.save(paths[-1], np.asarray(arr))
        return [str(p) for p in paths]

    a = np.array([0, 0, 1, 1] * 50)
    b = np.array([0, 1, 0, 1] * 50)
    return {
        "xor": write("xor", a, b, a ^ b),
        "and": write("and", a, b, a & b),
        "unq1": write("unq1", a, b, a),
    }


@pytest.fixture(scope="module")
def continuous_xor(tmp_path_factory):
    """Continuous XOR (n = 600, d = 2 per modality): all synergy, ln 2 nats."""
    d = tmp_path_factory.mktemp("cxor")
    rng = np.random.default_rng(0)
    n = 600
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    np.save(d / "x1.npy", (2.0 * a - 1)[:, None] + 0.3 * rng.standard_normal((n, 2)))
    np.save(d / "x2.npy", (2.0 * b - 1)[:, None] + 0.3 * rng.standard_normal((n, 2)))
    np.save(d / "y.npy", a ^ b)
    return [str(d / f) for f in ("x1.npy", "x2.npy", "y.npy")]


@pytest.mark.parametrize("method", ["broja", "mmi", "imin", "ipm"])
def test_exact_measures_on_xor_give_one_bit_of_synergy(gate_files, capsys, method):
    d = run_json(capsys, ["pid", *gate_files["xor"], "--method", method, "--json", "--bits"])
    assert d["unit"] == "bits" and d["method"] == method
    assert d["S"] == pytest.approx(1.0, abs=1e-6)
    for atom in ("R", "U1", "U2", "I1", "I2"):
        assert d[atom] == pytest.approx(0.0, abs=1e-6)
    assert d["I12"] == pytest.approx(1.0, abs=1e-9)
    nats = run_json(capsys, ["pid", *gate_files["xor"], "--method", method, "--json"])
    assert nats["unit"] == "nats" and nats["S"] == pytest.approx(math.log(2), abs=1e-6)


def test_broja_on_and_and_unq1_matches_the_known_atoms(gate_files, capsys):
    d = run_json(capsys, ["pid", *gate_files["and"], "-m", "broja", "--json", "--bits"])
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert d["R"] == pytest.approx(h - 0.5, abs=1e-5) and d["S"] == pytest.approx(0.5, abs=1e-5)
    assert d["R"] + d["U1"] + d["U2"] + d["S"] == pytest.approx(d["I12"], abs=1e-9)
    d = run_json(capsys, ["pid", *gate_files["unq1"], "-m", "broja", "--json", "--bits"])
    assert d["U1"] == pytest.approx(1.0, abs=1e-5) and abs(d["R"]) < 1e-5 and abs(d["S"]) < 1e-5


def test_exact_measure_readable_output_and_plot(gate_files, tmp_path, capsys):
    png = tmp_path / "figs" / "xor.png"
    assert main(["pid", *gate_files["xor"], "--method", "mmi", "--bits", "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "synergy" in text and "1.0000" in text and "mmi" in text and f"wrote plot: {png}" in text
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000


def test_ipm_per_sample_round_trip(gate_files, tmp_path, capsys):
    out = tmp_path / "ipm.npz"
    d = run_json(capsys, ["pid", *gate_files["and"], "-m", "ipm", "--json", "--per-sample", str(out)])
    assert d["files"] == {"per_sample": str(out)}
    x1, x2, y = (np.load(p) for p in gate_files["and"])
    expected = IPM().pointwise_from_samples(x1, x2, y)
    with np.load(out) as z:
        saved = {k: z[k] for k in z.files}
    assert str(saved.pop("unit")) == "nats" and set(saved) == set(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(saved[k], v)
    np.testing.assert_allclose(saved["r"] + saved["u1"], saved["i1"], atol=1e-12)
    np.testing.assert_allclose(saved["r"] + saved["u1"] + saved["u2"] + saved["s"], saved["i12"], atol=1e-12)
    for atom in ("R", "U1", "U2", "S", "I12"):  # the per-sample atoms average to the dataset atoms
        assert saved[atom.lower()].mean() == pytest.approx(d[atom], abs=1e-12)


def test_per_sample_is_refused_for_measures_without_pointwise_atoms(gate_files, tmp_path, capsys):
    for method in ("broja", "mmi", "imin"):
        err = bad_input(
            capsys, ["pid", *gate_files["xor"], "-m", method, "--per-sample", str(tmp_path / "a.npz")]
        )
        assert "--method ipm" in err and "per sample" in err
    assert not (tmp_path / "a.npz").exists()


def test_lsmi_json_per_sample_and_plot(continuous_xor, tmp_path, capsys):
    npz, png = tmp_path / "atoms.npz", tmp_path / "atoms.png"
    argv = ["pid", *continuous_xor, "--json", "--folds", "2", "--seed", "0", "--bootstrap", "300"]
    d = run_json(capsys, [*argv, "--per-sample", str(npz), "--plot", str(png)])
    assert d["method"] == "lsmi" and d["unit"] == "nats" and d["n"] == 600 and d["details"]["folds"] == 2
    assert set(d["raw"]) == {"R", "U1", "U2", "S"} and isinstance(d["clipped"], bool)
    assert d["R"] + d["U1"] + d["U2"] + d["S"] == pytest.approx(d["I12"], abs=1e-9)
    assert d["R"] + d["U1"] == pytest.approx(d["I1"], abs=1e-9)
    raw = d["raw"]
    assert raw["R"] + raw["U1"] + raw["U2"] + raw["S"] == pytest.approx(d["I12"], abs=1e-9)
    assert d["S"] == pytest.approx(math.log(2), abs=0.1) and abs(d["R"]) < 0.05  # XOR: all synergy
    for q in ("R", "U1", "U2", "S", "I1", "I2", "I12"):
        low, high = d["intervals"][q]
        assert low <= high and low - 1e-9 <= d[q] <= high + 1e-9
    with np.load(npz) as z:
        saved = {k: z[k] for k in z.files}
    assert str(saved["unit"]) == "nats" and set(PER_SAMPLE_KEYS) <= set(saved)
    np.testing.assert_allclose(saved["r"] + saved["u1"], saved["i1"], atol=1e-12)
    np.testing.assert_allclose(saved["r"] + saved["u1"] + saved["u2"] + saved["s"], saved["i12"], atol=1e-12)
    for atom in ("R", "U1", "U2", "S", "I1", "I2", "I12"):
        assert saved[atom.lower()].mean() == pytest.approx(d[atom], abs=1e-12)
    for atom in ("R", "U1", "U2", "S"):
        assert d["top"][atom] == np.argsort(-saved[atom.lower()], kind="stable")[:5].tolist()
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 30_000


class FakeLSMI:
    """Stands in for `lsmi` (records its arguments, returns a fixed result) to test the rendering fast."""

    def __init__(self):
        rng = np.random.default_rng(0)
        n = 300
        i1 = rng.normal(-0.2, 0.1, n)  # a negative mean I1: the result carries a warning flag
        self.result = lsmi_from_pointwise(
            rng.gamma(3, 1, n), rng.gamma(3, 1, n), i1, rng.normal(0.3, 0.1, n), rng.normal(0.6, 0.2, n)
        )
        self.calls = []

    def __call__(self, x1, x2, y, **options):
        self.calls.append((x1, x2, y, options))
        return self.result


@pytest.fixture
def fake_lsmi(monkeypatch, tmp_path):
    import infomm.interactions.sample_level as module

    fake = FakeLSMI()
    monkeypatch.setattr(module, "lsmi", fake)
    rng = np.random.default_rng(1)
    files = []
    for key, arr in (
        ("x1", rng.normal(size=(300, 3))),
        ("x2", rng.normal(size=(300, 2))),
        ("y", np.arange(300) % 3),
    ):
        files.append(str(tmp_path / f"{key}.npy"))
        np.save(files[-1], arr)
    return fake, files


def test_lsmi_readable_output_shows_intervals_band_flags_and_top_samples(fake_lsmi, capsys):
    fake, files = fake_lsmi
    assert main(["pid", *files, "--seed", "7", "--folds", "3", "-o", "hidden=16", "-o", "prior=uniform"]) == 0
    text = capsys.readouterr().out
    (x1, x2, y, options) = fake.calls[0]
    assert x1.shape == (300, 3) and x2.shape == (300, 2) and y.tolist() == (np.arange(300) % 3).tolist()
    assert options == {"folds": 3, "seed": 7, "progress": False, "hidden": 16, "prior": "uniform"}
    res = fake.result
    from infomm.interactions.report import fmt_value

    for q in ("R", "U1", "U2", "S", "I1", "I2", "I12"):
        assert fmt_value(getattr(res, q)) in text
    low, high = res.bootstrap(1000, 0.95, 7)["S"]
    assert f"[{fmt_value(low)}, {fmt_value(high)}]" in text  # bootstrap 95 % interval, seeded by --seed
    assert f"[{fmt_value(res.band[0])}, {fmt_value(res.band[1])}]" in text
    assert ("adjusted: yes" in text) == res.clipped
    assert res.flags and "warning (negative)" in text
    top_s = ", ".join(str(i) for i in res.top_k("s", 5))
    assert top_s in text


def test_lsmi_bits_converts_every_atom(fake_lsmi, capsys):
    _, files = fake_lsmi
    d = run_json(capsys, ["pid", *files, "--json", "--bits", "--bootstrap", "0"])
    res = fake_lsmi[0].result
    assert d["unit"] == "bits" and "intervals" not in d
    for q in ("R", "U1", "U2", "S", "I12"):
        assert d[q] == pytest.approx(getattr(res, q) / math.log(2), rel=1e-12)
        if q != "I12":
            assert d["raw"][q] == pytest.approx(res.raw[q] / math.log(2), rel=1e-12)


def test_lsmi_options_reach_lsmi_and_are_validated_there(continuous_xor, capsys):
    err = bad_input(capsys, ["pid", *continuous_xor, "-o", "bogus=1"])
    assert "bogus" in err
    err = bad_input(capsys, ["pid", *continuous_xor, "--folds", "1"])
    assert "folds" in err


@pytest.fixture
def bad_files(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x": rng.normal(size=(50, 2)),
        "x_short": rng.normal(size=(40, 2)),
        "x_nan": np.where(np.arange(100).reshape(50, 2) == 7, np.nan, 1.0),
        "x_3d": rng.normal(size=(50, 2, 2)),
        "y": np.arange(50) % 2,
        "y_one": np.zeros(50),
        "y_cont": rng.normal(size=50),
        "y_2col": np.zeros((50, 2)),
        "d": np.arange(50) % 3,
    }
    for k, v in arrays.items():
        np.save(tmp_path / f"{k}.npy", v)
    return lambda *names: [str(tmp_path / f"{n}.npy") for n in names]


@pytest.mark.parametrize(
    ("names", "extra", "needle"),
    [
        (("x", "x_short", "y"), [], "X1 has 50 rows, X2 has 40"),
        (("x", "x", "y_one"), [], "single class"),
        (("x_nan", "x", "y"), [], "non-finite"),
        (("x", "x", "y_cont"), [], "non-integer"),
        (("x", "x", "y_2col"), [], "one column"),
        (("x_3d", "x", "y"), [], "3-D"),
        (("x", "missing", "y"), [], "does not exist"),
        (("x", "d", "y"), ["--method", "broja"], "X1 holds non-integer values"),
        (("d", "d", "y"), ["--method", "nope"], "unknown PID method"),
        (("d", "d", "y"), ["--method", "mmi", "--folds", "3"], "lsmi only"),
        (("d", "d", "y"), ["--method", "mmi", "-o", "k=3"], "lsmi only"),
        (("d", "d", "y"), ["--method", "ipm", "--per-sample", "out.csv"], ".npz"),
        (("d", "d", "y"), ["--method", "ipm", "--plot", "out.txt"], "unsupported suffix"),
        (("d", "d", "y"), ["-o", "novalue"], "KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(bad_files, capsys, names, extra, needle):
    err = bad_input(capsys, ["pid", *bad_files(*names), *extra])
    assert needle in err


def test_pid_is_listed_in_the_help(capsys):
    assert main(["--help"]) == 0
    assert "pid" in capsys.readouterr().out
