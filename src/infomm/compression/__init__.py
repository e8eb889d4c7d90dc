"""Joint compression of modalities: shared/private latents, conditional entropy coding, bitstreams.

The coding core:

- :mod:`infomm.compression.coder`: integer symbols <-> bytes (``constriction``'s range coder);
- :mod:`infomm.compression.entropy_models`: :class:`FactorizedDensity`,
  :class:`GaussianConditional`, :class:`GaussianMarginal` (forward / compress / decompress / update);
- :mod:`infomm.compression.latent_codecs`: :class:`ConditionalLatentCodec` (the joint codec: each
  private latent coded given the decoded shared one), :class:`SeparateLatentCodec` (the
  baseline: every latent under its own marginal) and :class:`ChainedDensity` (a latent's second
  part coded given its decoded first part: the coupled codec's shared latent);
- :mod:`infomm.compression.bitstream`: the file format (magic, version, model id, weights hash,
  shapes, stream lengths, checksum);
- :mod:`infomm.compression.operational`: operational mutual information, the bits conditional
  coding saves, with a bootstrap interval.

The codec :class:`DepthVideoCodec` (:mod:`~infomm.compression.model`), its training
(:func:`fit_codec`), evaluation (:mod:`~infomm.compression.evaluate`), RD sweeps and BD-rates
(:mod:`~infomm.compression.sweep`, :mod:`~infomm.compression.rd`), and deep JSCC over noisy
channels (:class:`DepthVideoJSCC`, :mod:`~infomm.compression.channels`).
"""

from infomm.compression.bitstream import BitstreamHeader, pack, unpack, weights_hash
from infomm.compression.context_codecs import ContextLatentCodec
from infomm.compression.entropy_models import (
    CategoricalConditional,
    FactorizedDensity,
    GaussianConditional,
    GaussianMarginal,
)
from infomm.compression.jscc import DepthVideoJSCC, JSCCConfig
from infomm.compression.jscc_eval import digital_reference, evaluate_jscc
from infomm.compression.jscc_training import fit_jscc, load_jscc
from infomm.compression.latent_codecs import (
    ChainedDensity,
    ConditionalLatentCodec,
    GaussianParams,
    SeparateLatentCodec,
)
from infomm.compression.model import CodecConfig, DepthVideoCodec
from infomm.compression.nesting import embed_independent, nesting_config
from infomm.compression.operational import OperationalMI, gaussian_toy_latents, operational_mi
from infomm.compression.rd import bd_rate
from infomm.compression.sweep import rd_sweep
from infomm.compression.training import clip_windows, fit_codec, load_codec

__all__ = [
    "BitstreamHeader",
    "CategoricalConditional",
    "ChainedDensity",
    "ContextLatentCodec",
    "clip_windows",
    "CodecConfig",
    "DepthVideoCodec",
    "DepthVideoJSCC",
    "JSCCConfig",
    "bd_rate",
    "digital_reference",
    "embed_independent",
    "evaluate_jscc",
    "fit_codec",
    "fit_jscc",
    "load_codec",
    "load_jscc",
    "nesting_config",
    "rd_sweep",
    "ConditionalLatentCodec",
    "FactorizedDensity",
    "GaussianConditional",
    "GaussianMarginal",
    "GaussianParams",
    "OperationalMI",
    "SeparateLatentCodec",
    "gaussian_toy_latents",
    "operational_mi",
    "pack",
    "unpack",
    "weights_hash",
]
