"""The whole vTPU through its byte ports against Model.execute on the same bytes."""

from dataclasses import replace

import pytest
from amaranth.back import verilog

from sim_helpers import feed_bytes, run_sim, small_board_core
from rtl.boards import BOARDS
from rtl.top import VTPU
from tb.stimulus import Stimulus
from vtpu.frame import parse_responses
from vtpu.isa import Op


def run_bytes(dut, data, expected_len, host_period=None):
    """Bytes in at ``i``, out at ``o``; on the ``host`` clock (of
    ``host_period`` seconds) for a core whose link has a clock of its own."""
    got = bytearray()
    domain = "sync" if host_period is None else "host"

    async def source(ctx):
        await feed_bytes(ctx, dut.i, data, domain)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        idle = 0
        while len(got) < expected_len and idle < 2000:
            _, _, valid, payload = await ctx.tick(domain).sample(dut.o.valid, dut.o.payload)
            idle = 0 if valid else idle + 1
            if valid:
                got.append(payload)

    run_sim(dut, source, sink, clocks={} if host_period is None else {"host": host_period})
    return bytes(got)


def test_random_frames_with_garbage_match_model():
    dut = VTPU(sets=8, ways=2)
    stream = Stimulus(7, ops=frozenset(Op), garbage=0.1, unknown=0.03).take(300)
    data = b"".join(ins.frame() for ins in stream)
    want = dut.model().execute(data)
    got = run_bytes(dut, data, len(want))
    for index, (g, w) in enumerate(zip(parse_responses(got), parse_responses(want))):
        assert g == w, f"response {index}: RTL {g} model {w}"
    assert got == want


def test_two_sentrons_with_garbage_match_model():
    dut = VTPU(sentrons=2, sets=4, ways=2)
    stream = Stimulus(8, ops=frozenset(Op), garbage=0.1, unknown=0.03).take(150)
    data = b"".join(ins.frame() for ins in stream)
    want = dut.model().execute(data)
    assert dut.model().capacity == dut.entries == 16
    assert run_bytes(dut, data, len(want)) == want


def test_pipelined_with_garbage_match_model():
    """The pipelined core (``PipelinedSequencer`` sentrons) with every instruction."""
    dut = VTPU(sentrons=4, sets=4, ways=1, pipelined=True)
    stream = Stimulus(10, ops=frozenset(Op), garbage=0.1, unknown=0.03).take(150)
    data = b"".join(ins.frame() for ins in stream)
    want = dut.model().execute(data)
    assert run_bytes(dut, data, len(want)) == want


def test_front_units_on_the_host_clock():
    """The ECP5 arrangement (pipelined sentrons whose answers cross to the
    host's clock inside the array) with CKG, CATTEND and CNEAREST: their
    units work on the host's clock, in front of the command crossing."""
    dut = VTPU(sentrons=2, sets=8, ways=2, pipelined=True, host_domain="host")
    mix = {Op.CKG: 5, Op.CATTEND: 4, Op.CNEAREST: 4}
    stream = Stimulus(21, ops=frozenset(Op), garbage=0.05, unknown=0.02, keys=24,
                      mix=mix).take(150)
    data = b"".join(ins.frame() for ins in stream)
    want = dut.model().execute(data)
    assert run_bytes(dut, data, len(want), host_period=0.77e-6) == want


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_core_matches_model(board):
    """Each board's core as ``make synth`` builds it (its sentrons, pipelining,
    memory and the instructions it leaves out), with a small memory so that it
    fills up: 4 sets, or 8 cuckoo entries a sentron over an index of as many slots."""
    b = BOARDS[board]
    dut = small_board_core(replace(b, host_mhz=None))     # one clock: see test_uart.py for two
    stream = Stimulus(13, ops=frozenset(Op), garbage=0.05, unknown=0.03).take(200)
    data = b"".join(ins.frame() for ins in stream)
    want = dut.model().execute(data)
    assert run_bytes(dut, data, len(want)) == want


def test_top_level_verilog_has_stream_ports():
    text = verilog.convert(VTPU(sets=8, ways=2), name="vtpu_top")
    for port in ("i__valid", "i__ready", "i__payload", "o__valid", "o__ready", "o__payload"):
        assert port in text
