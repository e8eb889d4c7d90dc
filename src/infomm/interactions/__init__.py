"""Interactions between modalities: partial information decomposition (PID), exact and per sample.

* exact discrete PID of a joint p(x1, x2, y) or of discrete samples: :func:`pid`,
  :func:`pid_from_samples` with the measures of :data:`PID_MEASURES`;
* sample-level LSMI on continuous features (:func:`lsmi`, :class:`LSMI`) and its plug-in on an
  exact distribution (:func:`lsmi_plugin`), both returning an :class:`LSMIResult`;
* reports and plots: :func:`interaction_markdown`, :func:`interaction_table`,
  :func:`plot_interactions`.

Example:
    >>> from infomm.interactions import PID_MEASURES, pid, lsmi_plugin
    >>> from infomm.data.gates import gate_joint
    >>> PID_MEASURES.names()
    ['broja', 'imin', 'ipm', 'mmi']
    >>> round(pid(gate_joint("xor"), "mmi", unit="bits").S, 6)
    1.0
    >>> round(lsmi_plugin(gate_joint("and")).to("bits").R, 3)  # equals BROJA after the adjustment
    0.311
"""

from infomm.interactions.discrete import (
    BROJA,
    IPM,
    MMI,
    PID_MEASURES,
    IMin,
    PIDMeasure,
    PIDResult,
    pid,
    pid_from_samples,
)
from infomm.interactions.plots import plot_interactions
from infomm.interactions.report import interaction_markdown, interaction_table
from infomm.interactions.result import LSMIResult, lsmi_from_pointwise, lsmi_plugin
from infomm.interactions.sample_level import LSMI, LSMIConfig, lsmi

__all__ = [
    "BROJA",
    "IPM",
    "LSMI",
    "MMI",
    "PID_MEASURES",
    "IMin",
    "LSMIConfig",
    "LSMIResult",
    "PIDMeasure",
    "PIDResult",
    "interaction_markdown",
    "interaction_table",
    "lsmi",
    "lsmi_from_pointwise",
    "lsmi_plugin",
    "pid",
    "pid_from_samples",
    "plot_interactions",
]
