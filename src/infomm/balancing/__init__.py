"""Balancing methods for multimodal training: hooks into the one training loop of infomm.training.

Importing this package fills :data:`BALANCERS` (``concat``, ``concat-aux`` and the methods
in their own modules).
"""

from infomm.balancing.base import BALANCERS, Balancer, Concat, ConcatAux, grad_norms
from infomm.balancing.egh import EGH
from infomm.balancing.mmpareto import MMPareto
from infomm.balancing.ogm_ge import OGMGE
from infomm.balancing.omib import OMIB, omib_beta_bound

__all__ = [
    "BALANCERS",
    "EGH",
    "OGMGE",
    "OMIB",
    "Balancer",
    "Concat",
    "ConcatAux",
    "MMPareto",
    "grad_norms",
    "omib_beta_bound",
]
