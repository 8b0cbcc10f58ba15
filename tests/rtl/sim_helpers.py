"""Small helpers for driving Amaranth 0.5 streams in the simulator."""

from amaranth.sim import Simulator

__all__ = ["run_sim", "until_ready", "stream_put", "stream_get", "feed_bytes"]


def run_sim(dut, *testbenches, vcd=None, processes=(), clock=True, clocks=None):
    """``clocks``: more clock domains, name -> period in seconds (``sync``: 1 us)."""
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-6)
    for domain, period in (clocks or {}).items():
        sim.add_clock(period, domain=domain)
    for tb in testbenches:
        sim.add_testbench(tb)
    for process in processes:
        sim.add_process(process)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()


async def until_ready(ctx, ready, limit):
    """Tick until ``ready`` is seen high at a clock edge; False after ``limit``
    clocks (a stuck DUT fails its test instead of hanging it)."""
    for _ in range(limit):
        _, _, seen = await ctx.tick().sample(ready)
        if seen:
            return True
    return False


async def stream_put(ctx, stream, payload):
    """Offer one payload and wait until it is accepted."""
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream):
    """Accept one payload."""
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


async def feed_bytes(ctx, stream, data, domain="sync"):
    """Offer ``data`` one byte per clock, each held until it is accepted."""
    for byte in data:
        ctx.set(stream.payload, byte)
        ctx.set(stream.valid, 1)
        await ctx.tick(domain).until(stream.ready)
    ctx.set(stream.valid, 0)


def small_board_core(board):
    """Board ``board``'s core as ``make synth`` builds it (its sentrons,
    pipelining, memory kind, clocks and the instructions it leaves out) with a
    memory small enough to fill in a short stream: 8 cuckoo entries a
    sentron over an index of as many slots, or 4 sets."""
    from dataclasses import replace
    from rtl.boards import vtpu_core
    if board.memory is not None:
        small = replace(board, memory={**board.memory, "entries": 8 * board.sentrons, "buckets": 2})
    else:
        small = replace(board, sets=4)
    return vtpu_core(small)
