"""Test-session settings shared by tests/ and the doctests in src/.

Tiny networks run many small ops; on a 2-core machine torch's thread pool costs more than it
gives (measured: a CLUB doctest took 23 s with 2 threads under load, 0.5 s with 1).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the AV-digits cache of a test session out of the user's ~/.cache."""
    old = os.environ.get("INFOMM_CACHE")
    os.environ["INFOMM_CACHE"] = str(tmp_path_factory.mktemp("infomm-cache"))
    yield
    if old is None:
        os.environ.pop("INFOMM_CACHE", None)
    else:
        os.environ["INFOMM_CACHE"] = old
