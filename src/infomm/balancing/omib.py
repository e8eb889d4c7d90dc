"""OMIB: the optimal multimodal information bottleneck, with a dynamic per-modality weight r.

Wu, Shao, Wang & Sun, 2025, "Learning Optimal Multimodal Information Bottleneck Representations",
ICML, arXiv 2505.19996 (no official code; a re-implementation). Two modalities::

    x_1 -> encoder_1 -> z_1 --+--> head_1 -> unimodal logits 1   (task-relevance branch, TRB)
                              +--> var_1 -> (mu_1, log sigma_1^2) -> zeta_1 = mu_1 + sigma_1 * eps --+
    x_2 -> encoder_2 -> z_2 --+--> head_2 -> unimodal logits 2                                    |
                              +--> var_2 -> (mu_2, log sigma_2^2) -> zeta_2 ------------------------+
                                                 fusion MLP on concat(zeta_1, zeta_2) = xi -> fused logits

In eval mode the fused prediction is the variational predictive ``E_zeta softmax(fusion(zeta))``,
averaged over ``eval_samples`` draws of the codes (the VIB convention: Alemi, Fischer, Dillon &
Murphy 2017, "Deep Variational Information Bottleneck", ICLR, Sec. 4.1, average the softmax over 12
posterior samples at test time); the fused logits are the log of that average. The bottleneck is
the stochastic code: reading ``fusion(mu)`` instead escapes it, since shrinking ``|mu|`` against
``sigma`` (what the KL does) leaves the argmax of ``fusion(mu)`` unchanged until a whole class
merges into another; on the synthetic Gaussian task (benchmarks/balancing.py, OMIB section, 5
seeds) the accuracy read at ``zeta = mu`` fell by 3.6 and 9.1 points from beta = M_u to 10 M_u in
the two orientations, the 12-sample predictive's by 6.8 and 13.0. The draws come from a generator seeded afresh in every call, so an
evaluation is reproducible and leaves the global RNG (the training stream) untouched;
``eval_samples=0`` gives the point prediction ``fusion(mu)``. The loss of one batch, the paper's
variational OMIB objective with the dynamic r of Eq. 11:

    E[-log q(y | xi)] + beta * (KL(p(zeta_1|z_1) || N(0,I)) + r * KL(p(zeta_2|z_2) || N(0,I)))
      + unimodal_weight * sum_m CE(head_m(z_m), y)

with ``r = 1 - tanh(ln(E KL(p(y_hat_2|z_2) || p(y_hat|xi)) / E KL(p(y_hat_1|z_1) || p(y_hat|xi))))``
computed per batch without gradient from the unimodal heads and the fused prediction, as a ratio of
batch means (the literal ``E[.] / E[.]``; see :mod:`infomm.functional.omib` for why).
``r_momentum > 0`` replaces both batch means by exponential moving averages before the ratio (a
less noisy r with small batches; ``0``, the default, is the paper's per-batch r).

Choices where the paper leaves room (documented, not the authors' code):

* Warm-up (the paper's first stage): for ``epoch < warmup_epochs`` only the unimodal heads'
  cross-entropies train the encoders (no KL, no fused loss; r is reported as 1 and not used).
* The TRB heads keep training afterwards (``unimodal_weight``, default 1, their cross-entropies
  also reach the encoders), so the unimodal predictions in r follow the encoders;
  ``unimodal_weight=0`` stops training them after warm-up.
* The paper fuses with cross-attention; on one feature vector per modality attention over a
  single key is the identity on its value, so the fusion here is an MLP on ``concat(zeta_1, zeta_2)``.
* ``drop`` zeroes a modality's features ``z_m`` and sets its code to the prior mean ``zeta_m = 0``.
* beta is a float; :func:`omib_beta_bound` (or :meth:`OMIB.calibrate`) computes M_u from the
  training features (Prop. 5.7). Only two modalities are supported (the paper's setting).

Example:
    >>> import torch
    >>> from infomm.models import MLPEncoder
    >>> method = OMIB(beta=0.01, warmup_epochs=0)
    >>> model = method.build_model({"a": MLPEncoder(4, 8), "b": MLPEncoder(3, 8)}, n_classes=3)
    >>> method.setup(model.modality_parameters())
    >>> out = model({"a": torch.randn(6, 4), "b": torch.randn(6, 3)})
    >>> loss, parts = method.objective(out, torch.tensor([0, 1, 2, 0, 1, 2]), epoch=0)
    >>> sorted(method.coefficients()), 0.0 <= method.coefficients()["r"] <= 2.0
    (['beta', 'kl/a', 'kl/b', 'r'], True)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from torch import Tensor, nn

from infomm.balancing.base import BALANCERS, Balancer
from infomm.functional.omib import beta_upper_bound, expected_prediction_kls, gaussian_kl, omib_r
from infomm.interface import InputError, MultimodalOutput

#: initial bias of the log-variances (sigma ~ 0.14): with log sigma^2 = 0 the code starts as unit
#: noise around a small mean and the fusion learns slowly (cf. Alemi et al. 2017, "Deep Variational
#: Information Bottleneck", ICLR, likewise parameterise sigma = softplus(x - 5), which starts small)
LOGVAR_INIT = -4.0
#: code draws of the eval-mode predictive (Alemi et al. 2017 average 12 posterior samples)
EVAL_SAMPLES = 12


def _two(names: Collection[str], what: str) -> list[str]:
    names = list(names)
    if len(names) != 2:
        raise InputError(
            f"{what} has {len(names)} modalities {names}; OMIB supports exactly two (Eq. 11 weights "
            "modality 2 against modality 1): select two modalities."
        )
    return names


class OMIBModel(nn.Module):
    """Encoders, TRB heads, a variational layer per modality and an MLP fusion of the two codes.

    Args:
        encoders: two modalities -> module mapping input (n, ...) to features (n, d_m), with ``out_dim``.
        n_classes: C. latent_dim: size k of each code zeta_m. hidden: width of the fusion MLP.
        eval_samples: code draws averaged by the eval-mode predictive (0: ``fusion(mu)``).
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module],
        n_classes: int,
        latent_dim: int = 32,
        hidden: int = 64,
        eval_samples: int = EVAL_SAMPLES,
    ) -> None:
        super().__init__()
        self.modalities = _two(encoders, "encoders")
        if n_classes < 2 or latent_dim < 1 or hidden < 1:
            raise InputError(
                f"n_classes={n_classes}, latent_dim={latent_dim}, hidden={hidden}: need >= 2, 1, 1."
            )
        if not (isinstance(eval_samples, int) and eval_samples >= 0):
            raise InputError(f"eval_samples={eval_samples!r} must be an integer >= 0 (0: predict from mu).")
        self.eval_samples = eval_samples
        dims = {m: int(getattr(e, "out_dim")) for m, e in encoders.items()}  # noqa: B009
        self.encoders = nn.ModuleDict(dict(encoders))
        self.heads = nn.ModuleDict({m: nn.Linear(d, n_classes) for m, d in dims.items()})
        self.variational = nn.ModuleDict({m: nn.Linear(d, 2 * latent_dim) for m, d in dims.items()})
        for layer in self.variational.values():  # small initial noise: log sigma^2 starts near LOGVAR_INIT
            nn.init.constant_(layer.bias[latent_dim:], LOGVAR_INIT)  # type: ignore[index]
        self.fusion = nn.Sequential(
            nn.Linear(2 * latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )
        self.head_gradient = True

    def modality_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Modality -> the parameters of its encoder."""
        return {m: list(self.encoders[m].parameters()) for m in self.modalities}

    def forward(self, inputs: Mapping[str, Tensor], drop: Collection[str] = ()) -> MultimodalOutput:
        missing = [m for m in self.modalities if m not in inputs]
        unknown = set(drop) - set(self.modalities)
        if missing or unknown:
            raise InputError(
                f"inputs lack {missing} or drop names unknown {sorted(unknown)}; "
                f"modalities: {self.modalities}."
            )
        feats, heads, mus, logvars, codes = {}, {}, {}, {}, {}
        for m in self.modalities:
            z = self.encoders[m](inputs[m])
            z = torch.zeros_like(z) if m in drop else z
            feats[m] = z
            heads[m] = self.heads[m](z if self.head_gradient else z.detach())
            mu, logvar = self.variational[m](z).chunk(2, dim=-1)
            logvar = logvar.clamp(-20.0, 20.0)
            mus[m], logvars[m] = mu, logvar
            zeta = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
            codes[m] = torch.zeros_like(zeta) if m in drop else zeta
        if self.training or self.eval_samples == 0:
            logits = self.fusion(torch.cat([codes[m] for m in self.modalities], dim=1))
        else:
            logits = self._predictive(mus, logvars, drop)
        extras = {"mu": mus, "logvar": logvars, "zeta": codes}
        return MultimodalOutput(logits=logits, features=feats, unimodal_logits=heads, extras=extras)

    def _predictive(
        self, mus: dict[str, Tensor], logvars: dict[str, Tensor], drop: Collection[str]
    ) -> Tensor:
        """``log mean_k softmax(fusion(zeta_k))`` over ``eval_samples`` draws (one stacked pass)."""
        k = self.eval_samples
        first = mus[self.modalities[0]]
        gen = torch.Generator(device=first.device).manual_seed(0)
        draws = []
        for m in self.modalities:
            mu, sd = mus[m], torch.exp(0.5 * logvars[m])
            eps = torch.randn((k, *mu.shape), generator=gen, device=mu.device, dtype=mu.dtype)
            z = mu + sd * eps
            draws.append(torch.zeros_like(z) if m in drop else z)
        logp = torch.log_softmax(self.fusion(torch.cat(draws, dim=-1)), dim=-1)  # (k, n, C)
        return torch.logsumexp(logp, dim=0) - math.log(k)


def _pcs(x: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` principal-component scores of the z-scored columns of ``x`` (not whitened)."""
    z = (x - x.mean(0)) / np.where(x.std(0) > 1e-12, x.std(0), 1.0)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[: min(k, vt.shape[0])].T


def _seed(registry: Any, method: str, seed: int) -> dict[str, Any]:
    """``{"seed": seed}`` when the estimator registered as ``method`` takes a seed, else ``{}``."""
    params = inspect.signature(registry.get(method)).parameters.values()
    takes = any(p.name == "seed" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return {"seed": seed} if takes else {}


def omib_beta_bound(
    features: Mapping[str, np.ndarray],
    r: float = 1.0,
    components: int = 4,
    entropy_method: str = "mixture",
    mi_method: str = "auto",
    seed: int = 0,
) -> tuple[float, dict[str, float]]:
    """``(M_u, parts)``: the upper bound on beta of Prop. 5.7, estimated once on training features.

    ``v_m`` is the first ``components`` principal components of the z-scored features of modality
    ``m`` (the scale the engine feeds the model; differential entropy depends on it). ``H(v_m)`` is
    estimated by ``estimate_entropy(v_m, entropy_method)`` (a held-out mixture cross-entropy by
    default) and ``I(v_1; v_2)`` by ``estimate_mi(v_1, v_2, mi_method)``. The bound is only as good
    as these estimates, and it scales with ``components`` (entropy grows with dimension): treat it
    as a scale for beta, not a guarantee. A non-positive denominator raises :class:`InputError`.

    Args:
        features: exactly two modalities -> (n, ...) arrays, rows paired (the training split).
        r: the weight r in ``(1 + r)`` (1: balanced modalities). M_u falls as r grows and Eq. 11
            gives r in [0, 2], so ``r=2`` gives the conservative bound that holds for every r; with
            ``r=1`` and a dominant modality 2 (r near 2 in training), beta = M_u exceeds the
            bound for the r actually used.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(3000, 2)); b = a + rng.normal(size=(3000, 2))
        >>> m_u, parts = omib_beta_bound({"a": a, "b": b}, entropy_method="gaussian", mi_method="gaussian")
        >>> sorted(parts)
        ['components', 'denominator', 'h/a', 'h/b', 'mi', 'r']
        >>> bool(abs(m_u - 1 / (2 * parts["denominator"])) < 1e-12)
        True
    """
    from infomm.estimators import ENTROPY_ESTIMATORS, MI_ESTIMATORS, estimate_entropy, estimate_mi

    names = _two(features, "features")
    arrays = [np.asarray(features[m], dtype=np.float64).reshape(len(features[m]), -1) for m in names]
    if arrays[0].shape[0] != arrays[1].shape[0] or not all(np.isfinite(a).all() for a in arrays):
        raise InputError(
            f"features have {arrays[0].shape[0]} and {arrays[1].shape[0]} rows; pass paired, finite rows."
        )
    if not (isinstance(components, int) and components >= 1):
        raise InputError(f"components={components!r} must be a positive integer (e.g. 4).")
    v = [_pcs(a, components) for a in arrays]
    h = [
        float(estimate_entropy(x, entropy_method, **_seed(ENTROPY_ESTIMATORS, entropy_method, seed)).value)
        for x in v
    ]
    mi = float(estimate_mi(v[0], v[1], mi_method, **_seed(MI_ESTIMATORS, mi_method, seed)).value)
    parts = {f"h/{names[0]}": h[0], f"h/{names[1]}": h[1], "mi": mi, "denominator": h[0] + h[1] - mi}
    parts.update({"r": float(r), "components": float(min(components, v[0].shape[1]))})
    return beta_upper_bound(h[0], h[1], mi, r), parts


class OMIB(Balancer):
    """OMIB objective with dynamic r (Wu et al. 2025: r of Eq. 11, M_u of Prop. 5.7); see the module.

    Args:
        beta: weight of the KL terms (>= 0); M_u from :func:`omib_beta_bound` is the paper's bound.
        warmup_epochs: epochs in which only the unimodal heads' cross-entropies train the encoders.
        latent_dim, fusion_hidden: size of each code zeta_m and width of the fusion MLP.
        unimodal_weight: weight of the heads' cross-entropies after warm-up (>= 0).
        r_momentum: in [0, 1); EMA momentum of the two expected KLs behind r (0: per batch).
        eval_samples: code draws the eval-mode fused prediction averages (0: ``fusion(mu)``).
    """

    name = "omib"
    head_gradient = True

    def __init__(
        self,
        beta: float = 1e-3,
        warmup_epochs: int = 1,
        latent_dim: int = 32,
        fusion_hidden: int = 64,
        unimodal_weight: float = 1.0,
        r_momentum: float = 0.0,
        eval_samples: int = EVAL_SAMPLES,
    ) -> None:
        if not (isinstance(eval_samples, int) and eval_samples >= 0):
            raise InputError(f"eval_samples={eval_samples!r} must be an integer >= 0 (0: predict from mu).")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (0 <= beta < float("inf")):
            raise InputError(f"beta={beta!r} must be a finite float >= 0; OMIB.calibrate() computes M_u.")
        if not (isinstance(warmup_epochs, int) and warmup_epochs >= 0):
            raise InputError(f"warmup_epochs={warmup_epochs!r} must be an integer >= 0.")
        if not (0 <= unimodal_weight < float("inf")) or not (0 <= r_momentum < 1):
            raise InputError(
                f"unimodal_weight={unimodal_weight!r} must be >= 0 and r_momentum={r_momentum!r} in [0, 1)."
            )
        super().__init__(start_epoch=warmup_epochs)
        self.beta, self.warmup_epochs = float(beta), warmup_epochs
        self.latent_dim, self.fusion_hidden = latent_dim, fusion_hidden
        self.unimodal_weight, self.r_momentum = float(unimodal_weight), float(r_momentum)
        self.eval_samples = eval_samples
        self.modalities: list[str] = []
        self._ema: tuple[float, float] | None = None
        self.bound_parts: dict[str, float] = {}

    def build_model(self, encoders: Mapping[str, nn.Module], n_classes: int) -> nn.Module:
        """An :class:`OMIBModel` over the engine's two encoders."""
        model = OMIBModel(encoders, n_classes, self.latent_dim, self.fusion_hidden, self.eval_samples)
        self.modalities = list(model.modalities)
        return model

    def setup(self, parameters: Mapping[str, list[nn.Parameter]]) -> None:
        self.modalities = _two(parameters, "parameters")
        super().setup(parameters)

    def calibrate(self, features: Mapping[str, np.ndarray], r: float = 1.0, **options: Any) -> float:
        """Set ``beta = M_u`` from training ``features`` (:func:`omib_beta_bound`) and return it."""
        self.beta, self.bound_parts = omib_beta_bound(features, r, **options)
        return self.beta

    def state_dict(self) -> dict[str, Any]:
        """The moving averages behind r (``r_momentum > 0``) and beta, kept in checkpoints."""
        return {"ema": self._ema, "beta": self.beta}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._ema = state.get("ema")
        self.beta = float(state.get("beta", self.beta))

    def dynamic_r(self, out: MultimodalOutput) -> float:
        """r of this batch (Eq. 11), through the EMA of the two expected KLs when ``r_momentum > 0``."""
        m1, m2 = self.modalities or list(out.unimodal_logits)
        return self._r(torch.stack((out.unimodal_logits[m1], out.unimodal_logits[m2], out.logits)))

    def _r(self, logits: Tensor) -> float:
        """:meth:`dynamic_r` from the stacked logits (3, n, C): head 1, head 2, fused."""
        k1, k2 = expected_prediction_kls(logits)
        if self.r_momentum == 0:
            return omib_r(k1, k2)
        a = self.r_momentum
        self._ema = (
            (k1, k2)
            if self._ema is None
            else (a * self._ema[0] + (1 - a) * k1, a * self._ema[1] + (1 - a) * k2)
        )
        return omib_r(*self._ema)

    def objective(self, out: MultimodalOutput, y: Tensor, epoch: int) -> tuple[Tensor, dict[str, float]]:
        """Warm-up: sum of the heads' CEs; then fused CE + beta (KL_1 + r KL_2) + weighted head CEs.

        Both KLs come from one stacked pass when the codes have the same size, r from one stacked
        pass over the three predictions, and the logged floats from one host transfer.
        """
        names = self.modalities or _two(out.unimodal_logits, "the model output")
        mu, logvar, heads = out.extras["mu"], out.extras["logvar"], out.unimodal_logits
        if mu[names[0]].shape == mu[names[1]].shape:  # (2, n, k) -> per-sample KL (2, n) -> (2,)
            kl = gaussian_kl(torch.stack([mu[m] for m in names]), torch.stack([logvar[m] for m in names]))
            kl = kl.mean(dim=-1)
        else:
            kl = torch.stack([gaussian_kl(mu[m], logvar[m]).mean() for m in names])
        ce = [TF.cross_entropy(heads[m], y) for m in names]
        if not self.active(epoch):  # warm-up stage: no KL, no fused loss in the graph
            r, total = 1.0, ce[0] + ce[1]
        else:
            r = self._r(torch.stack((heads[names[0]], heads[names[1]], out.logits)))
            ce.append(TF.cross_entropy(out.logits, y))
            total = ce[2] + self.beta * (kl[0] + r * kl[1]) + self.unimodal_weight * (ce[0] + ce[1])
        with torch.no_grad():
            logged = torch.cat((torch.stack(ce), kl)).tolist()  # CE_1, CE_2[, CE_fused], KL_1, KL_2
        parts = {f"loss/{m}": v for m, v in zip(names, logged, strict=False)}
        if len(ce) == 3:
            parts["loss/fused"] = logged[2]
        self._coefficients = {"r": r, "beta": self.beta}
        self._coefficients |= {f"kl/{m}": v for m, v in zip(names, logged[-2:], strict=True)}
        return total, parts


BALANCERS.register(
    "omib",
    OMIB,
    summary="variational IB per modality + dynamic KL weight r (Wu et al., ICML 2025)",
)
