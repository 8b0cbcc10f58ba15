"""Logic levels in front of every register input of an ECP5 netlist.

    python -m flow.levels build/synth-ulx3s-85f/vtpu_ulx3s_85f.json [--clock NET] [--top N]

Reads the netlist Yosys writes for nextpnr and counts, for every input of a
flop, block RAM, distributed RAM write port and multiplier clocked by one
clock (the one most flops use, or ``--clock``), how deep the logic in front
of it is, starting from that clock's flops and RAM outputs. A LUT4 or a carry
cell's input counts 1, a PFUMX/L6MUX21 0.3, a carry chain's links 0.05 each;
the block RAM's output starts at 2.5 (its clock-to-out without the output
register), a distributed RAM's read port counts as a LUT and a multiplier
(used without its registers) as 4.

This is a figure of the netlist alone. nextpnr's Fmax for this design moves
by 4-10 MHz with the placement seed; the levels do not, so a change to the
RTL can be judged by them before it is placed. On the ECP5-85F at 125 MHz
every hop between LUTs costs 1-1.6 ns: more than about four levels do not
fit in a clock.
"""

import argparse
import collections
import json
import re
import sys

__all__ = ["levels", "main"]

LUT, MUX, CARRY_LINK = 1.0, 0.3, 0.05
BRAM_OUT, DSP = 2.5, 4.0


def _arcs(cell):
    """(input ports, output ports, levels) of a cell's combinational paths."""
    kind = cell["type"]
    if kind == "LUT4":
        return [("ABCD", ["Z"], LUT)]
    if kind == "PFUMX":
        return [(["ALUT", "BLUT", "C0"], ["Z"], MUX)]
    if kind == "L6MUX21":
        return [(["D0", "D1", "SD"], ["Z"], MUX)]
    if kind == "CCU2C":
        return [(["A0", "B0", "C0", "D0"], ["S0"], LUT),
                (["A0", "B0", "C0", "D0", "A1", "B1", "C1", "D1"], ["S1", "COUT"], LUT),
                (["CIN"], ["COUT"], CARRY_LINK), (["CIN"], ["S0", "S1"], MUX)]
    if kind == "TRELLIS_DPR16X4":
        return [(["RAD"], ["DO"], LUT)]
    if kind == "MULT18X18D":        # used without its registers
        ports = cell["connections"]
        return [([p for p in ports if re.fullmatch(r"[AB]\d+", p)],
                 [p for p in ports if re.fullmatch(r"P\d+", p)], DSP)]
    return []


# Sequential cells: (clock port, input ports that end a path, output level or None)
_SEQUENTIAL = {
    "TRELLIS_FF": ("CLK", ("DI", "CE", "LSR", "M"), 0.0),
    "TRELLIS_DPR16X4": ("WCK", ("DI", "WAD", "WRE"), None),
    "DP16KD": ("CLKA", None, BRAM_OUT),
}


def levels(netlist, clock=None):
    """``(clock, histogram, endpoints)`` for the netlist's top module: the clock
    net's name, {whole levels: register inputs} and [(levels, endpoint,
    path)], deepest first, each path the net names from its start to the
    endpoint."""
    top = next(m for m in netlist["modules"].values() if m.get("attributes", {}).get("top"))
    names = {}
    for name, net in top["netnames"].items():
        for i, bit in enumerate(net["bits"]):
            if isinstance(bit, int):
                rank = (net.get("hide_name", 0), len(name))
                if bit not in names or rank < names[bit][0]:
                    names[bit] = (rank, f"{name}[{i}]" if len(net["bits"]) > 1 else name)
    name_of = {bit: name for bit, (_, name) in names.items()}

    clocks = collections.Counter(c["connections"]["CLK"][0] for c in top["cells"].values()
                                 if c["type"] == "TRELLIS_FF")
    if clock is None:
        clock_bit = clocks.most_common(1)[0][0]
    else:
        clock_bit = next((bit for bit, name in name_of.items() if name == clock), None)
        if clock_bit not in clocks:
            raise ValueError(f"no flop is clocked by {clock!r}")

    fanin = collections.defaultdict(list)      # output bit -> [(input bit, levels)]
    starts, ends = {}, []                      # bit -> level; (bit, cell, port)
    for cell_name, cell in top["cells"].items():
        conn = cell["connections"]
        for ins, outs, cost in _arcs(cell):
            for out in outs:
                for ob in conn.get(out, []):
                    if isinstance(ob, int):
                        fanin[ob] += [(ib, cost) for port in ins for ib in conn.get(port, [])
                                      if isinstance(ib, int)]
        if cell["type"] not in _SEQUENTIAL:
            continue
        clock_port, end_ports, start_level = _SEQUENTIAL[cell["type"]]
        if conn.get(clock_port, [None])[0] != clock_bit:
            continue
        directions = cell["port_directions"]
        for port, bits in conn.items():
            if directions[port] == "output" and start_level is not None:
                starts.update((bit, start_level) for bit in bits if isinstance(bit, int))
            elif directions[port] == "input" and port != clock_port and (
                    end_ports is None or port in end_ports):
                ends += [(bit, cell_name, port) for bit in bits if isinstance(bit, int)]

    arrival = {}                               # bit -> (levels or None, the input it came by)

    def arrive(bit):
        # iterative depth-first walk: netlists are deeper than Python's recursion
        stack = [bit]
        while stack:
            b = stack[-1]
            if b in arrival:
                stack.pop()
                continue
            pending = [ib for ib, _ in fanin.get(b, []) if ib not in arrival]
            if pending:
                stack += pending
                continue
            best = (starts.get(b), None)
            for ib, cost in fanin.get(b, []):
                if arrival[ib][0] is not None and (best[0] is None
                                                   or arrival[ib][0] + cost > best[0]):
                    best = (arrival[ib][0] + cost, ib)
            arrival[b] = best
            stack.pop()
        return arrival[bit][0]

    def path(bit):
        trail = []
        while bit is not None:
            trail.append(name_of.get(bit, str(bit)))
            bit = arrival[bit][1]
        return trail[::-1]

    reached = [(arrive(bit), bit, cell, port) for bit, cell, port in ends]
    reached = sorted((r for r in reached if r[0] is not None), key=lambda r: -r[0])
    histogram = collections.Counter(int(level) for level, *_ in reached)
    endpoints = [(level, f"{cell}.{port}", path(bit)) for level, bit, cell, port in reached]
    return name_of.get(clock_bit, str(clock_bit)), dict(sorted(histogram.items())), endpoints


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flow.levels", description=__doc__.split("\n")[0])
    parser.add_argument("netlist", help="the JSON netlist Yosys wrote (build/synth-<board>/*.json)")
    parser.add_argument("--clock", default=None, help="clock net (default: the one most flops use)")
    parser.add_argument("--top", type=int, default=10, help="deepest endpoints to list")
    args = parser.parse_args(argv)
    with open(args.netlist) as f:
        clock, histogram, endpoints = levels(json.load(f), args.clock)
    print(f"clock {clock}: register inputs per whole level {histogram}")
    shown = set()
    for level, endpoint, trail in endpoints:
        if (trail[0], trail[-1]) in shown:
            continue
        shown.add((trail[0], trail[-1]))
        print(f"{level:5.2f}  {trail[0]} -> {endpoint}")
        if len(shown) >= args.top:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
