"""What the specs share: the property record, the stream rules, free inputs.

A spec is a function that adds a design under test and its checks to a
``Module`` that already has the ``sync`` clock domain (its reset held low:
every flop starts at its init value, which is the state reset gives it).
Inputs of the design the spec leaves free are driven from ``AnySeq``, a new
arbitrary value every clock, so the solver picks them; ``Assume`` narrows
them to what a well-behaved neighbour may send.
"""

import inspect
from dataclasses import dataclass, field
from typing import Callable

from amaranth.asserts import AnyConst, AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume, ClockDomain, Module, Shape, Signal, Value
from amaranth.hdl._ast import Assign, Switch

__all__ = ["Property", "spec_rtlil", "free", "any_const", "sender", "receiver",
           "stream_handshake", "stream_rules", "Inside", "AnyConst", "AnySeq"]


@dataclass(frozen=True)
class Property:
    """One proof: ``build(m)`` adds the design and its checks to ``m``.

    ``mode`` "prove": k-induction with ``depth`` steps (a proof for every
    reachable state); "bmc": every trace of ``depth`` clocks from reset (a
    bounded check, used where induction does not close; ``why`` says why);
    "struct": ``build()`` returns a component, and no combinational path may
    run from the ``ready`` to the ``valid`` of its output ``streams`` (a
    netlist check, no solver; ``depth`` unused).
    """
    name: str
    build: Callable
    mode: str
    depth: int
    summary: str
    why: str = ""
    streams: tuple = field(default=())


def spec_rtlil(prop):
    """The spec of ``prop`` as RTLIL text: a module ``top`` whose only port is the clock."""
    m = Module()
    m.domains.sync = cd = ClockDomain("sync")
    m.d.comb += cd.rst.eq(0)
    prop.build(m)
    return rtlil.convert(m, name="top", platform="formal", ports=[cd.clk])


def free(m, *values):
    """Leave ``values`` (inputs of the design) to the solver, a new value every clock."""
    for value in values:
        value = Value.cast(value)
        m.d.comb += value.eq(AnySeq(len(value)))


def any_const(m, shape, name):
    """A value the solver picks once for the whole trace, in a named signal."""
    sig = Signal(shape, name=name)
    m.d.comb += sig.eq(AnyConst(Shape.cast(shape).width))
    return sig


def stream_rules(m, stream, check, name):
    """The stream handshake (Amaranth's ``lib.stream`` rules) on ``stream``, as
    ``check`` (``Assert`` for a stream the design sends, ``Assume`` for one it
    receives): once ``valid`` is high it stays high until a transfer (``valid
    & ready``), and the payload does not change meanwhile."""
    payload = Value.cast(stream.payload)
    stalled = Signal(name=f"{name}_stalled")     # valid & ~ready at the last edge
    held = Signal(len(payload), name=f"{name}_held")
    m.d.sync += [stalled.eq(stream.valid & ~stream.ready), held.eq(payload)]
    rules = [check(stream.valid, f"{name}: valid dropped without a transfer"),
             check(payload == held, f"{name}: payload changed while stalled")]
    for n, rule in enumerate(rules):
        # A source location per stream (not this line, the same for every
        # stream): sby names a failed assertion by it, and the runner maps it
        # back to the message.
        rule.src_loc = (f"stream_rules({name})", n + 1)
    with m.If(stalled):
        m.d.comb += rules


def sender(m, stream, name):
    """Drive the design's input ``stream`` as a well-behaved sender would:
    valid and payload free, assumed to follow the stream rules."""
    free(m, stream.valid, stream.payload)
    stream_rules(m, stream, Assume, name)


def receiver(m, stream, name):
    """Take the design's output ``stream`` with a free ``ready`` and assert that
    the design follows the stream rules on it."""
    free(m, stream.ready)
    stream_rules(m, stream, Assert, name)


def stream_handshake(make):
    """A spec builder: the design ``make()`` returns, its ``i`` driven as a
    well-behaved sender would and its ``o`` held to the stream rules."""
    def build(m):
        m.submodules.dut = dut = make()
        sender(m, dut.i, "i")
        receiver(m, dut.o, "o")
    return build


class Inside:
    """A design elaborated in the spec, so the spec can see inside it.

    ``Inside(m, "dut", component)`` adds the component's own ``Module`` (what
    its ``elaborate`` returns) as submodule ``dut``; ``signal(name)`` is the
    signal of that name its statements drive, ``state(name)`` is 1 while its
    FSM is in that state, ``submodule(name)`` a submodule not yet elaborated
    (a ``Memory`` still takes ports). Used for the invariants that make a
    k-induction close (a relation between the spec's monitor and the
    design's registers) and to read the table's memory. Looked up by the name
    the design gives them: a renamed signal fails here, loudly.
    """

    def __init__(self, m, name, design, platform="formal"):
        self.design = design
        design._MustUse__used = True      # elaborated here, not through Fragment.get
        self.module = design.elaborate(platform)
        self.module._flush()
        m.submodules[name] = self.module

    def _statements(self):
        stack = [stmt for stmts in self.module._statements.values() for stmt in stmts]
        stack += list(self.module._top_comb_statements)
        while stack:
            stmt = stack.pop()
            if isinstance(stmt, Switch):
                for case in stmt.cases:
                    stack.extend(case[1])
            elif hasattr(stmt, "resolve"):
                stack.append(stmt.resolve())
            else:
                yield stmt

    def signal(self, name, within=None):
        """The signal named ``name``; ``within``: the one a function creates (the
        design's helpers name theirs alike)."""
        found = {id(sig): sig for stmt in self._statements() if isinstance(stmt, Assign)
                 for sig in stmt.lhs._lhs_signals() if sig.name == name}
        if within is not None:
            lines, first = inspect.getsourcelines(within)
            where = (inspect.getsourcefile(within), range(first, first + len(lines)))
            found = {key: sig for key, sig in found.items()
                     if sig.src_loc[0] == where[0] and sig.src_loc[1] in where[1]}
        assert len(found) == 1, \
            f"{type(self.design).__name__} drives {len(found)} signals named {name!r}"
        return next(iter(found.values()))

    def source(self, signal):
        """The value assigned to the whole of ``signal`` (an unnamed register is
        found from a named one next to it: ``v2 = source(v3)``)."""
        found = {id(stmt.rhs): stmt.rhs for stmt in self._statements()
                 if isinstance(stmt, Assign) and stmt.lhs is Value.cast(signal)}
        assert len(found) == 1, f"{len(found)} values are assigned to {signal!r}"
        return next(iter(found.values()))

    def sink(self, value):
        """The signal that ``value`` (a signal) is assigned to, whole."""
        value = Value.cast(value)
        found = {id(stmt.lhs): stmt.lhs for stmt in self._statements()
                 if isinstance(stmt, Assign) and stmt.rhs is value
                 and isinstance(stmt.lhs, Signal)}
        assert len(found) == 1, f"{value!r} is assigned to {len(found)} signals"
        return next(iter(found.values()))

    def state(self, state, fsm="fsm"):
        data = self.module._generated[fsm]._data
        assert state in data["encoding"], f"{fsm} has no state {state!r}"
        return data["signal"] == data["encoding"][state]

    def submodule(self, name):
        return self.module._named_submodules[name][0]

    def inside(self, name, platform="formal"):
        """Submodule ``name``, elaborated here too (an ``Inside`` of its own)."""
        design, src_loc = self.module._named_submodules[name]
        nested = object.__new__(Inside)
        nested.design = design
        design._MustUse__used = True
        nested.module = design.elaborate(platform)
        nested.module._flush()
        self.module._named_submodules[name] = (nested.module, src_loc)
        return nested
