"""The table's contract, as a model of one key: what a sentron's answers say
about a key ``k`` the solver picks (any key: so for every key).

Model equivalence in the style of Amaranth's FIFO proofs: beside the design
runs a model of the table restricted to ``k`` -- whether it holds ``k``
(``present``) and with what value -- and every answer to an instruction on
``k`` must be the model's:

* CGET k: OK with the model's value if present, NOT_FOUND if not;
* CPUT k: OK if present (a key already held is updated, never TABLE_FULL);
  if absent, OK (now present, with the value) or TABLE_FULL (its set is
  full of other keys: the model does not track those);
* CDEL k: OK if present (now absent), NOT_FOUND if not;
* an instruction the decoder flagged: answered with its error, no effect.

So a CGET after a CPUT that was answered OK returns its value unless a CPUT
or CDEL of ``k`` came in between, and a CGET after a CDEL answered OK says
NOT_FOUND: a second copy of the key left in another way would answer OK.

Answers leave in order: a queue of the instructions accepted and not yet
answered pairs each answer with its instruction (and checks its op and tag:
no instruction is dropped, duplicated or reordered). A range instruction's
records (MORE) come before its final answer, which retires it. The model moves when an
answer appears on ``o`` (not when it is taken: for ``Sequencer`` that is the
clock the table is written).
"""

from amaranth.hdl import Assert, Signal, Value
from amaranth.lib import data

from vtpu.isa import Op, Status

__all__ = ["table_contract", "command_record"]


def record_layout(value_width):
    return data.StructLayout({"is_key": 1, "op": Op, "error": Status,
                              "value": value_width, "tag": 8})


def command_record(m, cmd, key, value_width, name):
    """What the model keeps of instruction ``cmd`` (a ``command_layout``)."""
    record = Signal(record_layout(value_width), name=name)
    m.d.comb += [record.is_key.eq(Value.cast(cmd.coord) == key), record.op.eq(cmd.op),
                 record.error.eq(cmd.error), record.value.eq(cmd.operand[:value_width]),
                 record.tag.eq(cmd.tag)]
    return record


def table_contract(m, dut, key, *, in_flight, value_width):
    """Add the model of ``key`` beside ``dut`` (its ``i``/``o`` driven by the
    caller); ``in_flight``: the most instructions accepted and not yet answered.
    Returns the model's signals (``present``, ``value``: after this clock's
    answer; ``count``: instructions in flight)."""
    record = record_layout(value_width)
    depth = in_flight + 1
    queue = [Signal(record, name=f"queue{n}") for n in range(depth)]
    count = Signal(range(depth + 1))

    cmd, rsp = dut.i.payload, dut.o.payload
    rsp = rsp.shape()(Value.cast(rsp))
    accepted = dut.i.valid & dut.i.ready
    shown_before = Signal()           # o.valid & ~o.ready at the last edge: the same answer
    m.d.sync += shown_before.eq(dut.o.valid & ~dut.o.ready)
    m.d.comb += Assert(~shown_before | dut.o.valid, "o.valid dropped without a transfer")
    answer = Signal()                 # a new answer on ``o`` this clock
    m.d.comb += answer.eq(dut.o.valid & ~shown_before)
    final = Signal()                  # ... its instruction's last (a range record has MORE)
    m.d.comb += final.eq(answer & ~rsp.more)
    incoming = command_record(m, cmd, key, value_width, "incoming")

    with m.If(final):
        for n in range(depth - 1):
            m.d.sync += queue[n].eq(queue[n + 1])
    tail = count - final
    with m.If(accepted):
        for n in range(depth):
            with m.If(tail == n):
                m.d.sync += queue[n].eq(incoming)
    m.d.sync += count.eq(count + accepted - final)
    m.d.comb += Assert(count <= in_flight, "more instructions in flight than the pipeline holds")

    # --- the model of ``key`` --------------------------------------------------------
    present = Signal()                # before this clock's answer
    value = Signal(value_width)
    present_next, value_next = Signal(), Signal(value_width)
    m.d.comb += [present_next.eq(present), value_next.eq(value)]
    m.d.sync += [present.eq(present_next), value.eq(value_next)]

    head = queue[0]
    status = rsp.status
    with m.If(answer):
        m.d.comb += [Assert(count != 0, "an answer with no instruction in flight"),
                     Assert(rsp.tag == head.tag, "an answer with another instruction's tag"),
                     Assert(rsp.op == head.op, "an answer with another instruction's op"),
                     Assert(~rsp.more | (head.error == Status.OK) & range_op(head.op),
                            "a record (MORE) for an instruction that has none")]
    with m.If(final):
        with m.If(head.error != Status.OK):
            m.d.comb += Assert(status == head.error, "a flagged instruction not answered its error")
        with m.Elif(head.is_key):
            with m.Switch(head.op):
                with m.Case(Op.CGET):
                    with m.If(present):
                        m.d.comb += [Assert(status == Status.OK, "CGET k: not found, put before"),
                                     Assert(rsp.value[:value_width] == value,
                                            "CGET k: not the value last put")]
                    with m.Else():
                        m.d.comb += Assert(status == Status.NOT_FOUND,
                                           "CGET k: found, never put or deleted since")
                with m.Case(Op.CPUT):
                    with m.If(present):
                        m.d.comb += Assert(status == Status.OK, "CPUT k: held key not updated")
                    with m.Else():
                        m.d.comb += Assert((status == Status.OK) | (status == Status.TABLE_FULL),
                                           "CPUT k: neither OK nor TABLE_FULL")
                    with m.If(status == Status.OK):
                        m.d.comb += [present_next.eq(1), value_next.eq(head.value)]
                with m.Case(Op.CDEL):
                    with m.If(present):
                        m.d.comb += Assert(status == Status.OK, "CDEL k: held key not found")
                    with m.Else():
                        m.d.comb += Assert(status == Status.NOT_FOUND,
                                           "CDEL k: found, never put or deleted since")
                    m.d.comb += present_next.eq(0)
    return dict(present=present_next, value=value_next, count=count, queue=queue,
                answer=answer, final=final)


def range_op(op):
    """The instructions that may answer with records (MORE) first."""
    return (op == Op.CRANGE) | (op == Op.CDIGEST) | (op == Op.CHIER)
