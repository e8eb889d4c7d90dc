"""The joint codec that contains an independent one: nested models for the cross-modal controls.

An ``independent`` codec (:class:`~infomm.compression.model.CodecConfig`) is two codecs with no
path between the modalities. The joint codec of :func:`nesting_config` has the same transforms and
a shared latent as wide as the independent codec's two parts together, but every part of it may
read both modalities::

    independent                                   nesting joint (cross-modal blocks start at zero)
    s_d = f_d(y_d), s_v = f_v(y_v)                s = f(y_d ++ y_v)         f: [[f_d, 0], [0, f_v]]
    p_d ~ N(mu_d(s_d_hat), sigma_d(s_d_hat))      p_d ~ N(mu_d(s_hat), ...) mu_d: [mu_d | 0 on s_v]
    depth_hat = g_d(s_d_hat ++ p_d_hat)           depth_hat = g_d(s_hat ++ p_d_hat)   (0 on s_v)

:func:`embed_independent` writes an independent codec's weights into that joint codec with the
cross-modal blocks zero, so the two compute the same function (the same bits and images, to float
rounding). Training both onward from there, for the same steps on the same batches and noise,
isolates what the cross-modal paths add: on pairs that share nothing there is nothing for them to
carry to held-out data (the shuffled control: what is left is their effect on the training
itself), and where the modalities share information the joint codec can code it once (the
synthetic set, the positive control). Comparing two separately trained architectures instead also
measures how fast each trains, which at short training lengths swamps the cross-modal gain (the
benchmark's controls run: -17 % BD-rate on shuffled pairs after 60 epochs).

The *coupled* codec (``nesting_config(config, coupled=True)``, ``CodecConfig.coupled``) nests the
independent codec the other way: it keeps the independent transforms and lets only the entropy
models read across the modalities::

    independent                                   coupled (cross-modal blocks start at zero)
    s_v ~ factorized                              s_v - mu(s_d_hat) ~ factorized      mu: last layer 0
    p_d ~ N(mu_d(s_d_hat), sigma_d(s_d_hat))      p_d ~ N(mu_d(s_hat), ...)           0 on s_v

A coupled codec saves only bits, the ones the other modality's decoded latents predict: each
decoder reads its own modality's latents, which the other modality reaches only through the
means that shift their rounding grid (in training, with additive noise, not at all). So on pairs
that share nothing it has nothing to learn that carries to held-out data, while the nesting joint
codec's wider fusion and decoders are capacity that a codec trained on such pairs can use too
(the benchmark's ``nested_more`` section: 1-3 % saved on shuffled pairs; ``coupled``: within
+-1 % on the RGB axis).

This is the nested-model design of a controlled comparison (the richer model initialised at the
poorer one's solution, as in function-preserving network growth: Chen, Goodfellow, Shlens 2016,
"Net2Net: Accelerating Learning via Knowledge Transfer", ICLR, Sec. 2).

Example:
    >>> import torch
    >>> from infomm.compression.model import CodecConfig, DepthVideoCodec
    >>> torch.manual_seed(0) and None
    >>> indep = DepthVideoCodec(CodecConfig(channels=8, shared=4, private=2, independent=True)).eval()
    >>> joint = embed_independent(indep).eval()
    >>> joint.config.model_id
    'dvc-joint-8-8-2-f16'
    >>> rgb, depth = torch.rand(2, 3, 32, 32), 1 + torch.rand(2, 1, 32, 32)
    >>> a, b = indep(rgb, depth), joint(rgb, depth)
    >>> bool(torch.allclose(a.rgb, b.rgb, atol=1e-5) and torch.allclose(a.bpp["total"], b.bpp["total"]))
    True
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from infomm.compression.model import MODALITIES, CodecConfig, DepthVideoCodec
from infomm.interface import InputError


def nesting_config(config: CodecConfig, coupled: bool = False) -> CodecConfig:
    """The joint codec's settings that contain the ``independent`` codec ``config``: the same
    transforms, ``shared`` doubled (both parts), the fusion's hidden width doubled (both parts');
    ``coupled``: the coupled codec (the same settings with ``coupled=True``)."""
    if not config.independent or config.coupled or not config.conditional:
        raise InputError(
            f"config {config.model_id}: only an independent codec (independent=True, conditional=True, "
            "coupled=False) nests in a joint one"
        )
    if coupled:
        return replace(config, coupled=True)
    return replace(
        config,
        independent=False,
        shared=config.shared_total,
        fusion_hidden=2 * (config.fusion_hidden or config.channels),
    )


def _embed_fusion(dst: dict[str, Tensor], src: dict[str, Tensor], config: CodecConfig) -> None:
    """``f = [[f_d, 0], [0, f_v]]``: each part's two 1x1 convs on their own block."""
    hidden = config.fusion_hidden or config.channels
    latent = config.channels
    for i, m in enumerate(MODALITIES):
        rows, inputs, outs = (
            slice(i * hidden, (i + 1) * hidden),
            slice(i * latent, (i + 1) * latent),
            config.shared_slices()[m],
        )
        dst["fusion.shared.0.weight"][rows, inputs] = src[f"fusion.shared.{m}.0.weight"]
        dst["fusion.shared.0.bias"][rows] = src[f"fusion.shared.{m}.0.bias"]
        dst["fusion.shared.2.weight"][outs, rows] = src[f"fusion.shared.{m}.2.weight"]
        dst["fusion.shared.2.bias"][outs] = src[f"fusion.shared.{m}.2.bias"]


def _embed_param_net(dst: dict[str, Tensor], src: dict[str, Tensor], m: str, part: slice) -> None:
    """The private model reads all of ``s_hat``: its own part as before, the other part with zero
    weights; the extra hidden units (the joint net is at least as wide) start dead (GELU(0) = 0)."""
    a, b = f"latent_codec.param_nets.{m}.net.", f"latent_codec.param_nets.{m}.net.net."
    h = src[b + "0.weight"].shape[0]
    dst[a + "0.weight"][:h, part] = src[b + "0.weight"]
    dst[a + "0.bias"][:h] = src[b + "0.bias"]
    dst[a + "2.weight"][:h, :h] = src[b + "2.weight"]
    dst[a + "2.bias"][:h] = src[b + "2.bias"]
    dst[a + "4.weight"][:, :h] = src[b + "4.weight"]
    dst[a + "4.bias"][:] = src[b + "4.bias"]


def _embed_coupled(model: DepthVideoCodec) -> DepthVideoCodec:
    """The coupled codec with ``model``'s weights: the factorized density of ``s`` split into the
    chain's two parts, each private model reading all of ``s_hat`` (zero on the other part)."""
    config = model.config
    coupled = DepthVideoCodec(nesting_config(config, coupled=True))
    src = model.state_dict()
    dst = coupled.state_dict()  # the chain's mean network: random, its last layer zero
    first, second = config.shared_slices()["depth"], config.shared_slices()["rgb"]
    density = "latent_codec.shared."
    for k, v in src.items():
        if k.startswith(density):
            rest = k[len(density) :]
            for part, rows in (("first.", first), ("second.", second)):
                dst[density + part + rest] = v[rows].clone()  # every tensor of it is per channel
        elif k.startswith("latent_codec.param_nets."):
            m = k.split(".")[2]
            dst_key = k.replace(".net.net.", ".net.")
            if dst_key.endswith("net.0.weight"):
                w = torch.zeros_like(dst[dst_key])
                w[:, config.shared_slices()[m]] = v
                dst[dst_key] = w
            else:
                dst[dst_key] = v.clone()
        else:
            dst[k] = v.clone()
    coupled.load_state_dict(dst)
    return coupled.train()


def embed_independent(model: DepthVideoCodec, coupled: bool = False) -> DepthVideoCodec:
    """A joint codec (:func:`nesting_config`; ``coupled``: the coupled one) that computes what the
    ``independent`` codec ``model`` computes: its weights, the cross-modal blocks zero (module
    docstring). Entropy tables written by ``update()`` come along; the result is in training mode."""
    config = model.config
    nesting_config(config)  # refuses what does not nest
    if coupled:
        return _embed_coupled(model)
    joint = DepthVideoCodec(nesting_config(config))
    src = model.state_dict()
    dst = {k: torch.zeros_like(v) for k, v in joint.state_dict().items()}
    shared, total = config.shared, config.shared_total
    handled = {k for k in src if k.startswith(("fusion.shared.", "latent_codec.param_nets."))}
    _embed_fusion(dst, src, config)
    for m, part in config.shared_slices().items():
        _embed_param_net(dst, src, m, part)
        w = src[f"synthesis.{m}.0.weight"]  # (shared + private, n, 5, 5): [own part of s, p_m]
        dst[f"synthesis.{m}.0.weight"][part] = w[:shared]
        dst[f"synthesis.{m}.0.weight"][total:] = w[shared:]
        handled.add(f"synthesis.{m}.0.weight")
    for k, v in src.items():
        if k not in handled:
            dst[k] = v.clone()  # same name, same role (the entropy tables may differ in length)
    joint.load_state_dict(dst)
    return joint.train()
