"""AV-digits training presets A / B / C: clean, one modality dominating, per-sample conflicts.

Three named settings of :func:`~infomm.data.avdigits.load_avdigits` for studying balanced
multimodal training, each seeded (one ``seed`` gives the same dataset on every build):

====  ==========================================================================================
A     clean: audio at 20 dB SNR, no image noise; both modalities nearly suffice on their own
B     hard audio: audio at -12 dB SNR, so the image clearly dominates (dataset-level imbalance,
      the regime of OGM-GE / modality laziness)
C     A with per-sample conflicts: in a fraction (0.3) of the rows ONE modality, drawn at random
      per row, is replaced by uninformative noise (:func:`replace_with_noise`); no modality is
      weaker on average, only per sample, so only per-sample methods can help
====  ==========================================================================================

The replacement in C is Gaussian noise with the modality's per-feature mean and standard
deviation (over all rows of the clean data): it has the modality's first two moments but is
independent of the label, so a classifier of that modality is at chance on the replaced rows.
(Features of a sample of another class would instead point *confidently* at a wrong class: a
conflict of a different kind, not "uninformative".) ``row_meta["replaced"]`` says per row which
modality was replaced (0 none, ``k + 1`` the k-th modality: 1 image, 2 audio), and
``meta["conflict_fraction"]`` the fraction.

Example:
    >>> ds = load_preset("C", n_per_class=5, pool_size=5, cache=False)
    >>> len(ds), ds.meta["preset"], ds.meta["conflict_fraction"], int((ds.row_meta["replaced"] > 0).sum())
    (50, 'C', 0.3, 15)
    >>> AVDIGITS_PRESETS.names()
    ['a', 'b', 'c']
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from infomm.data.avdigits import load_avdigits
from infomm.data.base import PairedDataset
from infomm.interface import InputError
from infomm.registry import Registry

_CONFLICT_SALT = 0xC0F1  # keeps the conflict draws apart from the streams load_avdigits spawns


@dataclass(frozen=True)
class Preset:
    """One AV-digits setting: the noise levels of :func:`load_avdigits` and the conflict fraction.

    Attributes:
        name: "A", "B" or "C". summary: one line for listings.
        audio_snr_db: SNR of the audio noise (dB). image_noise: std of the pixel noise.
        conflict_fraction: share of rows with one modality replaced by noise (0: none).
    """

    name: str
    summary: str
    audio_snr_db: float | None
    image_noise: float = 0.0
    conflict_fraction: float = 0.0

    def load(self, seed: int = 0, **overrides: Any) -> PairedDataset:
        """Build this preset (see :func:`load_preset`)."""
        known = set(inspect.signature(load_avdigits).parameters) - {"seed"} | {"conflict_fraction"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InputError(
                f"unknown override(s) {unknown} for preset {self.name}; known: {', '.join(sorted(known))}."
            )
        opts: dict[str, Any] = {"audio_snr_db": self.audio_snr_db, "image_noise": self.image_noise}
        opts.update(overrides)
        fraction = opts.pop("conflict_fraction", self.conflict_fraction)
        ds = load_avdigits(seed=seed, **opts)
        if fraction:
            ds = replace_with_noise(ds, fraction, seed=seed)
        ds.meta.update({"preset": self.name, "conflict_fraction": float(fraction)})
        return ds


#: the AV-digits presets by name (case-insensitive): ``AVDIGITS_PRESETS.get("B").load(seed=0)``
AVDIGITS_PRESETS: Registry[Preset] = Registry("AV-digits preset")
for _p in (
    Preset("A", "clean: audio at 20 dB SNR, no image noise", 20.0),
    Preset("B", "hard audio: -12 dB SNR, the image clearly dominates", -12.0),
    Preset(
        "C", "A plus per-sample conflicts: 30% of rows have one modality replaced by noise", 20.0, 0.0, 0.3
    ),
):
    AVDIGITS_PRESETS.register(_p.name, _p, summary=_p.summary)


def load_preset(name: str, seed: int = 0, **overrides: Any) -> PairedDataset:
    """Build AV-digits preset ``name`` ("A", "B" or "C", any case), the same for the same arguments.

    Args:
        name: the preset (see :data:`AVDIGITS_PRESETS`).
        seed: drives the dataset (:func:`load_avdigits`) and, for C, which rows and modalities
            are replaced and the noise.
        overrides: keyword arguments of :func:`load_avdigits` (``n_per_class``, ``audio_snr_db``,
            ``image_noise``, ``cache`` ...) and ``conflict_fraction``, replacing the preset's values.

    Returns:
        A :class:`PairedDataset` with ``meta["preset"]`` and ``meta["conflict_fraction"]`` set.

    >>> a = load_preset("b", seed=1, n_per_class=2, pool_size=2, cache=False)
    >>> b = load_preset("B", seed=1, n_per_class=2, pool_size=2, cache=False)
    >>> a.meta["audio_snr_db"], bool(np.array_equal(a.modalities["audio"], b.modalities["audio"]))
    (-12.0, True)
    """
    return AVDIGITS_PRESETS.get(name).load(seed=seed, **overrides)


def replace_with_noise(dataset: PairedDataset, fraction: float, seed: int = 0) -> PairedDataset:
    """Replace ONE modality, drawn uniformly per row, by label-free noise in ``fraction`` of the rows.

    Exactly ``round(fraction * n)`` rows are drawn without replacement; each gets one modality
    replaced by Gaussian noise with that modality's per-feature mean and standard deviation over
    all rows of ``dataset`` (independent across features and of the label). The result's
    ``row_meta["replaced"]`` is 0 for untouched rows and ``k + 1`` where the k-th modality of
    ``dataset.modality_names`` was replaced; ``meta["replaced_codes"]`` maps the codes to names.

    Args:
        dataset: at least two modalities. fraction: in [0, 1]. seed: drives rows, modalities, noise.

    >>> rng = np.random.default_rng(0)
    >>> ds = PairedDataset({"a": rng.normal(size=(10, 2)), "b": rng.normal(size=(10, 3))}, np.arange(10) % 2)
    >>> out = replace_with_noise(ds, 0.5, seed=0)
    >>> int((out.row_meta["replaced"] > 0).sum()), out.meta["replaced_codes"]
    (5, {'none': 0, 'a': 1, 'b': 2})
    >>> keep = out.row_meta["replaced"] == 0
    >>> bool(np.array_equal(out.modalities["a"][keep], ds.modalities["a"][keep]))
    True
    """
    if not (isinstance(fraction, (int, float, np.number)) and 0.0 <= float(fraction) <= 1.0):
        raise InputError(f"conflict fraction={fraction!r} must be a number in [0, 1] (share of rows).")
    names = dataset.modality_names
    if len(names) < 2:
        raise InputError(
            f"the dataset has modalities {names}; replacing one per row needs at least two, so the row "
            "keeps an informative one."
        )
    n = len(dataset)
    rng = np.random.default_rng([int(seed), _CONFLICT_SALT])
    rows = np.sort(rng.choice(n, size=int(round(float(fraction) * n)), replace=False))
    which = rng.integers(len(names), size=rows.size)
    replaced = np.zeros(n, dtype=np.int64)
    replaced[rows] = which + 1
    mods = {}
    for k, m in enumerate(names):
        arr = dataset.modalities[m].copy()
        hit = rows[which == k]
        mu, sd = arr.mean(axis=0), arr.std(axis=0)
        arr[hit] = mu + sd * rng.standard_normal((hit.size, *arr.shape[1:]))
        mods[m] = arr
    meta = dict(dataset.meta)
    meta.update(
        {
            "conflict_fraction": float(fraction),
            "conflict_noise": "gaussian, per-feature mean and std of the modality",
            "replaced_codes": {"none": 0, **{m: k + 1 for k, m in enumerate(names)}},
        }
    )
    return PairedDataset(mods, dataset.labels, dataset.name, meta, {**dataset.row_meta, "replaced": replaced})
