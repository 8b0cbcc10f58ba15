"""UART: loopback of random bytes, framing errors, and the whole vTPU behind
the pins: bytes in at RX, responses out at TX, against the golden model."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from sim_helpers import run_sim, small_board_core
from rtl.boards import BOARDS, UARTLink
from rtl.top import VTPU
from rtl.link.uart import UARTRx, UARTTx
from tb.stimulus import Instruction as I
from tb.stimulus import Stimulus
from vtpu.coord import Pattern, max_value
from vtpu.frame import parse_responses
from vtpu.isa import DIMS, Op

DIV = 4          # the fewest clocks per bit the UART takes: each bit costs a simulated clock


async def send_serial(ctx, pin, data, divisor, gap=0, domain="sync"):
    for byte in data:
        for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1] * (1 + gap):
            ctx.set(pin, bit)
            await ctx.tick(domain).repeat(divisor)


async def receive_serial(ctx, pin, count, divisor, limit, domain="sync"):
    """Decode ``count`` bytes from a TX pin (mid-bit sampling)."""
    out, waited = bytearray(), 0
    while len(out) < count and waited < limit:
        await ctx.tick(domain)
        waited += 1
        if ctx.get(pin) == 0:
            await ctx.tick(domain).repeat(divisor // 2)
            byte = 0
            for i in range(8):
                await ctx.tick(domain).repeat(divisor)
                byte |= ctx.get(pin) << i
            await ctx.tick(domain).repeat(divisor)
            assert ctx.get(pin) == 1, "stop bit"
            out.append(byte)
            waited = 0
    return bytes(out)


def test_loopback_and_framing_error():
    m = Module()
    m.submodules.rx = rx = UARTRx(DIV)
    m.submodules.tx = tx = UARTTx(DIV)
    data = bytes(random.Random(1).randrange(256) for _ in range(40))
    got = {}

    async def drive(ctx):
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(5)
        await send_serial(ctx, rx.rx, data[:20], DIV)
        # A byte with a low stop bit: dropped and counted.
        for bit in [0] + [1] * 8 + [0]:
            ctx.set(rx.rx, bit)
            await ctx.tick().repeat(DIV)
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(3 * DIV)
        await send_serial(ctx, rx.rx, data[20:], DIV)

    async def loop(ctx):
        # RX -> TX through the streams
        while True:
            ctx.set(rx.o.ready, ctx.get(tx.i.ready))
            ctx.set(tx.i.valid, ctx.get(rx.o.valid))
            ctx.set(tx.i.payload, ctx.get(rx.o.payload))
            await ctx.tick()

    async def watch(ctx):
        got["bytes"] = await receive_serial(ctx, tx.tx, len(data), DIV, 40 * DIV)
        got["errors"] = ctx.get(rx.framing_errors)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.add_testbench(loop, background=True)
    sim.run()
    assert got["bytes"] == data
    assert got["errors"] == 1


def test_vtpu_behind_the_pins_matches_model():
    link = UARTLink(VTPU(sets=8, ways=2), divisor=DIV)
    stream = Stimulus(11, ops=frozenset(Op), garbage=0.15).take(12)
    data = b"".join(ins.frame() for ins in stream)
    want = link.core.model().execute(data)
    got = {}

    async def drive(ctx):
        ctx.set(link.rx, 1)
        await ctx.tick().repeat(5)
        await send_serial(ctx, link.rx, data, DIV)

    async def watch(ctx):
        # The first answer only starts once a whole command frame has arrived.
        got["bytes"] = await receive_serial(ctx, link.tx, len(want), DIV, 12 * DIV * len(data))

    run_sim(link, drive, watch)
    assert got["bytes"] == want


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_each_boards_core_behind_the_pins_matches_model(board):
    """Each board's core as its build has it (instructions, memory, sentrons,
    pipelining, and on the ULX3S its host clock apart from the core's),
    with a small memory, bytes in at RX and out at TX, garbage included."""
    b = BOARDS[board]
    core = small_board_core(b)
    link = UARTLink(core, divisor=DIV, domain=b.host_domain)
    # fewer where the host link has a clock of its own: two clocks cost more
    stream = Stimulus(13, ops=frozenset(Op), garbage=0.1, keys=12).take(
        14 if b.host_domain != "sync" else 40)
    # a board with the range instructions walks its index over keys it holds
    everything = Pattern((0,) * DIMS, (max_value(16),) * DIMS, 0)
    near = Pattern((0,) * DIMS, (9,) * DIMS, 0)
    ranged = [I(Op.CPUT, {"coord": (n + 1,) * DIMS, "value": n}, 100 + n) for n in range(3)] + [
        I(op, fields, 110 + n) for n, (op, fields) in enumerate([
            (Op.CRANGE, {"pattern": everything}), (Op.CDIGEST, {"pattern": everything}),
            (Op.CHIER, {"pattern": near, "dir": 1}),
            (Op.CNEAREST, {"coord": (2,) * DIMS, "k": 2}),
            (Op.CATTEND, {"coord": (2,) * DIMS, "pattern": near, "k": 2, "mode": 1})])
        if op in b.ops]
    if Op.CRANGE in b.ops:
        stream += ranged
    data = b"".join(ins.frame() for ins in stream)
    want = core.model().execute(data)
    got = {}
    host = b.host_domain

    async def drive(ctx):
        ctx.set(link.rx, 1)
        await ctx.tick(host).repeat(5)
        await send_serial(ctx, link.rx, data, DIV, domain=host)

    async def watch(ctx):
        got["bytes"] = await receive_serial(ctx, link.tx, len(want), DIV, 12 * DIV * len(data),
                                            domain=host)

    sim = Simulator(link)
    sim.add_clock(1e-6, domain=host)
    if host != "sync":      # the core's clock as on the board: faster than the host's
        sim.add_clock(1e-6 * b.host_hz / b.clk_hz, domain="sync")
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.run()
    assert len(want) > 25 and got["bytes"] == want
    if Op.CRANGE in b.ops:        # the CRANGE (tag 110) answered the three keys as records
        records = [r for r in parse_responses(want) if r.tag == 110 and r.more]
        # three keys, CRANGE, CDIGEST, CHIER DOWN: every board carries these
        assert len(records) >= 3 and len(ranged) >= 6


@pytest.mark.parametrize("core_period, pipelined, count", [(0.53e-6, True, 6),
                                                           (1.9e-6, False, 10)])
def test_host_link_on_its_own_clock_matches_model(core_period, pipelined, count):
    """The ECP5 arrangement: UART, FIFOs, decoder and response encoder in
    ``host`` (and, pipelined, the array's collector), the sentrons in ``sync``,
    commands across by handshake (``Mailbox``) and answers through FIFOs; the
    core clock faster (as on the board) and slower than the host's, neither a
    multiple of the other. Pipelined, the units in front of the sentrons (CKG,
    CATTEND, CNEAREST) work on the host's clock, before the commands cross."""
    core = VTPU(sentrons=2, sets=8, ways=2, pipelined=pipelined, host_domain="host")
    link = UARTLink(core, divisor=DIV, domain="host")
    stream = Stimulus(12, ops=frozenset(Op), garbage=0.15).take(count)
    data = b"".join(ins.frame() for ins in stream)
    want = core.model().execute(data)
    got = {}

    async def drive(ctx):
        ctx.set(link.rx, 1)
        await ctx.tick("host").repeat(5)
        await send_serial(ctx, link.rx, data, DIV, domain="host")

    async def watch(ctx):
        got["bytes"] = await receive_serial(ctx, link.tx, len(want), DIV, 12 * DIV * len(data),
                                            domain="host")

    sim = Simulator(link)
    sim.add_clock(1e-6, domain="host")
    sim.add_clock(core_period, domain="sync")
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.run()
    assert len(want) > 25 and got["bytes"] == want     # several answers, not one
