"""The backends the client and server tests run on, as pytest params."""

import pytest

from vtpu.driver import available_backends

# Every Verilator backend exports, builds into and runs from one directory
# (build/driver/verilator): the tests that start one share an xdist group, so
# under `make test` (pytest -n auto --dist loadgroup) they run one after
# another on one worker, as they did before, and the simulator is built once.
VERILATOR = pytest.mark.xdist_group("verilator")


def backend_params():
    """``available_backends()``, the Verilator one in its xdist group."""
    return [pytest.param(name, marks=VERILATOR) if name == "verilator" else name
            for name in available_backends()]
