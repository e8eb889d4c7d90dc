"""Interactions between modalities: partial information decomposition (PID).

Example:
    >>> from infomm.interactions import PID_MEASURES, pid
    >>> from infomm.data.gates import gate_joint
    >>> PID_MEASURES.names()
    ['broja', 'imin', 'ipm', 'mmi']
    >>> round(pid(gate_joint("xor"), "mmi", unit="bits").S, 6)
    1.0
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

__all__ = [
    "BROJA",
    "IPM",
    "MMI",
    "PID_MEASURES",
    "IMin",
    "PIDMeasure",
    "PIDResult",
    "pid",
    "pid_from_samples",
]
