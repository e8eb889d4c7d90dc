"""Built-in paired-sequence sets for the codebook part: a seeded synthetic generator and AV-digit strings.

``synthetic_paired_sequences`` is the known-structure testbed of cross-modal generalization
(Xia et al., NeurIPS 2023, Sec. 4: one discrete code per event, whatever the modality)::

    clip i, step t:   state s_t = background b (4 kinds) | event (class c, phase p in {onset, middle, offset})
                      u_t = prototype[s_t] + 0.15 noise                       shared by both modalities (8-d)
    modality "a" (linear):      x_a = A u_t + N_a g_a(i, t) + 0.1 noise       g_a: per-clip style + drift
    modality "b" (non-linear):  x_b = tanh(W2 tanh(W1 [u_t; g_b(i, t)]) ) + 0.1 noise
    nuisance:  g_m = 2.0 * style_m(i) + 0.5 drift_m(i, t), 4-d per modality, independent across
               modalities; its energy is >= 2x the signal's, so reconstruction alone would code it
    event window: one per clip, length 4-8 of T = 10 steps, class c = the clip's label (10 classes)
    misaligned: 20 % of clips take modality "b" from another clip of a different class
               (``row_meta["aligned"]`` is False there; ``row_meta["b_source"]`` says which clip)

``avdigit_strings`` builds paired sequences from AV-digits: each step of a "clip" is one digit,
shown as an 8x8 image in modality ``image`` and spoken (pooled log-mel frames) in ``audio``; the
step labels are the digits; the AV-digits samples are split before the strings are drawn, so
held-out strings use unseen images and clips.

Example:
    >>> seqs = synthetic_paired_sequences(200, seed=0)
    >>> seqs.dims, seqs.steps, seqs.n_classes
    ({'a': 24, 'b': 24}, 10, 10)
    >>> abs(float(seqs.row_meta["aligned"].mean()) - 0.8) < 0.06  # 20% misaligned pairs
    True
    >>> bool((seqs.step_labels[seqs.step_labels >= 0] == seqs.labels.repeat(10)[seqs.step_labels.ravel() >= 0]).all())
    True
"""

from __future__ import annotations

import numpy as np

from infomm.data.sequences import PairedSequences
from infomm.interface import InputError
from infomm.validation import check_int_range

N_BACKGROUND = 4
N_PHASES = 3


def _states(n: int, steps: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    labels = rng.integers(0, n_classes, n)
    length = rng.integers(min(4, steps), min(8, steps) + 1, n)
    start = rng.integers(0, steps - length + 1)
    t = np.arange(steps)[None, :]
    inside = (t >= start[:, None]) & (t < (start + length)[:, None])
    phase = np.minimum((N_PHASES * (t - start[:, None])) // length[:, None], N_PHASES - 1)
    background = rng.integers(0, N_BACKGROUND, (n, 1)).repeat(steps, 1)
    state = np.where(inside, N_BACKGROUND + labels[:, None] * N_PHASES + phase, background)
    step_labels = np.where(inside, labels[:, None], -1)
    return labels, state, step_labels


def synthetic_paired_sequences(
    n_clips: int = 2000,
    *,
    steps: int = 10,
    n_classes: int = 10,
    dim: int = 24,
    nuisance: float = 2.0,
    misaligned: float = 0.2,
    seed: int = 0,
) -> PairedSequences:
    """Seeded paired sequences with a known shared code (see the module docstring for the model).

    Args:
        n_clips: number of clips (>= 20). steps: T (>= 4). n_classes: event classes (>= 2).
        dim: feature size of each modality. nuisance: scale of the per-clip style factor (the
            signal prototypes have unit variance per coordinate). misaligned: fraction of clips
            whose modality "b" comes from another clip of a different class. seed: everything.

    Returns:
        :class:`PairedSequences` with modalities ``"a"`` (linear) and ``"b"`` (non-linear),
        ``meta`` holding the parameters and ``row_meta`` ``aligned`` / ``b_source`` / ``state``
        (the true shared state per step of modality "a").
    """
    check_int_range(n_clips, "n_clips", 20)
    check_int_range(steps, "steps", 4)
    check_int_range(n_classes, "n_classes", 2)
    check_int_range(dim, "dim", 2)
    if not 0.0 <= misaligned < 1.0:
        raise InputError(f"misaligned={misaligned!r} must be in [0, 1).")
    if not nuisance >= 0.0:
        raise InputError(f"nuisance={nuisance!r} must be >= 0.")
    world = np.random.default_rng([seed, 1])  # the generative model (prototypes, mixing maps)
    rng = np.random.default_rng([seed, 2])  # the clips
    latent, nuis = 8, 4
    proto = world.normal(size=(N_BACKGROUND + n_classes * N_PHASES, latent))
    mix_a = world.normal(size=(latent, dim)) / np.sqrt(latent)
    nuis_a = world.normal(size=(nuis, dim)) / np.sqrt(nuis)
    w1 = world.normal(size=(latent + nuis, 64)) * 1.2 / np.sqrt(latent + nuis)
    w2 = world.normal(size=(64, dim)) * 1.5 / np.sqrt(64)

    labels, state, step_labels = _states(n_clips, steps, n_classes, rng)

    def nuisance_of() -> np.ndarray:
        style = rng.normal(size=(n_clips, 1, nuis))
        drift = rng.normal(size=(n_clips, steps, nuis))
        return nuisance * style + 0.25 * nuisance * drift

    u = proto[state] + 0.15 * rng.normal(size=(n_clips, steps, latent))
    a = u @ mix_a + nuisance_of() @ nuis_a + 0.1 * rng.normal(size=(n_clips, steps, dim))
    hidden = np.tanh(np.concatenate([u, nuisance_of()], axis=2) @ w1)
    b = np.tanh(hidden @ w2) + 0.1 * rng.normal(size=(n_clips, steps, dim))

    source = np.arange(n_clips)
    bad = rng.random(n_clips) < misaligned
    for i in np.nonzero(bad)[0]:
        others = np.nonzero(labels != labels[i])[0]
        source[i] = rng.choice(others)
    b = b[source]
    meta = {
        "generator": "synthetic_paired_sequences",
        "seed": seed,
        "n_classes": n_classes,
        "nuisance": nuisance,
        "misaligned": misaligned,
        "n_states": int(proto.shape[0]),
    }
    rows = {"aligned": ~bad, "b_source": source, "state": state}
    return PairedSequences(
        {"a": a.astype(np.float32), "b": b.astype(np.float32)},
        labels,
        step_labels,
        "cmg-synthetic",
        meta,
        rows,
    )


def avdigit_strings(
    n_clips: int = 800, *, steps: int = 6, test_fraction: float = 0.25, seed: int = 0, **avdigits: object
) -> PairedSequences:
    """Paired sequences of written and spoken digits from AV-digits (image vs audio per step).

    Each clip is a random string of ``steps`` digits; step t shows digit d_t as an 8x8 image in
    ``image`` and as the spoken word in ``audio`` (mean and std over frames of its log-mel
    energies), both taken from one AV-digits sample of that digit. The AV-digits samples are split
    first (``test_fraction``), test clips draw only from the held-out samples and
    ``row_meta["split"]`` (0 train, 1 test) records it, so no image or clip of a test string was
    seen in training. Step labels are the digits; the clip label is the first digit.
    ``avdigits`` go to :func:`infomm.data.load_avdigits` (e.g. ``audio_snr_db``).
    """
    from infomm.data.avdigits import load_avdigits

    check_int_range(n_clips, "n_clips", 20)
    check_int_range(steps, "steps", 1)
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction={test_fraction!r} must be in (0, 1).")
    ds = load_avdigits(seed=seed, **avdigits)  # type: ignore[arg-type]
    rng = np.random.default_rng([seed, 3])
    image = ds.flat("image")
    spec = ds.modalities["audio"].astype(np.float64)
    audio = np.concatenate([spec.mean(axis=2), spec.std(axis=2)], axis=1)
    held_out = rng.random(len(ds)) < test_fraction
    split = (np.arange(n_clips) >= round(n_clips * (1 - test_fraction))).astype(np.int64)
    pools = [[np.nonzero((ds.labels == d) & (held_out == bool(s)))[0] for d in range(10)] for s in (0, 1)]
    digits = rng.integers(0, 10, (n_clips, steps))
    rows = np.empty_like(digits)
    for i in range(n_clips):
        for t in range(steps):
            rows[i, t] = rng.choice(pools[split[i]][digits[i, t]])
    return PairedSequences(
        {"image": image[rows].astype(np.float32), "audio": audio[rows].astype(np.float32)},
        digits[:, 0].copy(),
        digits,
        "avdigits",
        {"generator": "avdigit_strings", "seed": seed, "test_fraction": test_fraction},
        {"source_rows": rows, "split": split},
    )
