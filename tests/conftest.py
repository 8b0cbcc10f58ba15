"""Under pytest-xdist (make test) each worker builds the Verilator backend into
a directory of its own: two builds into one directory at once would collide."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("VTPU_VERILATOR_BUILD",
                          f"build/driver/verilator-{os.environ['PYTEST_XDIST_WORKER']}")
