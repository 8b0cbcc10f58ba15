"""flow.levels: the logic levels in front of each register input, on small netlists."""

import json

import pytest

from flow.levels import levels, main

FF_PORTS = {"CLK": "input", "DI": "input", "Q": "output"}


def ff(clock, d, q):
    return {"type": "TRELLIS_FF", "port_directions": FF_PORTS,
            "connections": {"CLK": [clock], "DI": [d], "Q": [q]}}


def lut(a, z, b="0"):
    return {"type": "LUT4", "port_directions": {},
            "connections": {"A": [a], "B": [b], "C": ["0"], "D": ["0"], "Z": [z]}}


def netlist(cells, nets):
    return {"modules": {"top": {"attributes": {"top": 1}, "cells": cells,
                                "netnames": {name: {"bits": [bit]} for name, bit in nets.items()}}}}


NETS = {"clk": 2, "q_a": 3, "q_b": 4, "x": 5, "y": 6, "z": 7, "clk_host": 20, "q_host": 21,
        "from_host": 22, "sum0": 30, "carry": 31, "sum1": 32, "product": 40}


def design():
    return netlist({
        "a": ff(2, 10, 3), "b": ff(2, 7, 4),
        "l1": lut(3, 5, b=4),
        "m": {"type": "PFUMX", "port_directions": {},
              "connections": {"ALUT": [5], "BLUT": [3], "C0": [4], "Z": [6]}},
        "l2": lut(6, 7),
        # another clock's flop: not an endpoint, and what it drives starts nowhere
        "host": ff(20, 7, 21), "l3": lut(21, 22), "c": ff(2, 22, 23),
        # a carry chain: into the first cell's A0, out of the second's S0
        "cc0": {"type": "CCU2C", "port_directions": {},
                "connections": {"A0": [3], "COUT": [31], "S0": [30]}},
        "cc1": {"type": "CCU2C", "port_directions": {},
                "connections": {"CIN": [31], "S0": [32]}},
        "d": ff(2, 32, 33),
        # a multiplier used without its registers
        "mul": {"type": "MULT18X18D", "port_directions": {},
                "connections": {"A0": [4], "B0": [3], "CLK0": ["0"], "P0": [40]}},
        "e": ff(2, 40, 41),
    }, NETS)


def test_counts_luts_and_muxes_from_the_clocks_own_flops():
    clock, histogram, endpoints = levels(design())
    assert clock == "clk"
    by_endpoint = {endpoint: (level, path) for level, endpoint, path in endpoints}
    level, path = by_endpoint["b.DI"]
    assert level == pytest.approx(2.3)                   # LUT, PFUMX, LUT
    assert path == ["q_a", "x", "y", "z"]
    assert by_endpoint["d.DI"][0] == pytest.approx(1.3)  # into the chain, a link, out of S0
    assert by_endpoint["e.DI"] == (4.0, ["q_b", "product"])
    # a.DI has no driver, c.DI starts at the host clock's flop, host.DI is on that clock
    assert set(by_endpoint) == {"b.DI", "d.DI", "e.DI"}
    assert histogram == {1: 1, 2: 1, 4: 1}
    assert [e for _, e, _ in endpoints] == ["e.DI", "b.DI", "d.DI"]   # deepest first


def test_another_clock_by_name():
    _, histogram, endpoints = levels(design(), clock="clk_host")
    # host.DI is reached from q_a (clk) only: nothing starts on clk_host's side
    assert (histogram, endpoints) == ({}, [])
    with pytest.raises(ValueError):
        levels(design(), clock="z")


def test_command_line(tmp_path, capsys):
    path = tmp_path / "netlist.json"
    path.write_text(json.dumps(design()))
    assert main([str(path), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "clock clk: register inputs per whole level {1: 1, 2: 1, 4: 1}" in out
    assert " 4.00  q_b -> e.DI" in out and "b.DI" not in out
