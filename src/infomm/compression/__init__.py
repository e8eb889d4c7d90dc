"""Joint compression of modalities: shared/private latents, conditional entropy coding, bitstreams.

The coding core:

- :mod:`infomm.compression.coder`: integer symbols <-> bytes (``constriction``'s range coder);
- :mod:`infomm.compression.entropy_models`: :class:`FactorizedDensity`,
  :class:`GaussianConditional`, :class:`GaussianMarginal` (forward / compress / decompress / update);
- :mod:`infomm.compression.latent_codecs`: :class:`ConditionalLatentCodec` (the joint codec: each
  private latent coded given the decoded shared one) and :class:`SeparateLatentCodec` (the
  baseline: every latent under its own marginal);
- :mod:`infomm.compression.bitstream`: the file format (magic, version, model id, weights hash,
  shapes, stream lengths, checksum);
- :mod:`infomm.compression.operational`: operational mutual information, the bits conditional
  coding saves, with a bootstrap interval.
"""

from infomm.compression.bitstream import BitstreamHeader, pack, unpack, weights_hash
from infomm.compression.entropy_models import FactorizedDensity, GaussianConditional, GaussianMarginal
from infomm.compression.latent_codecs import ConditionalLatentCodec, GaussianParams, SeparateLatentCodec
from infomm.compression.operational import OperationalMI, gaussian_toy_latents, operational_mi

__all__ = [
    "BitstreamHeader",
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
