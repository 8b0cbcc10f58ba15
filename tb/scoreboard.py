"""Scoreboard: every response from the DUT against the golden model's answer.

Instructions are fed to the model one frame at a time (with whatever garbage
precedes them), so the model's answer for instruction k is known before the
DUT's arrives; the DUT's byte stream is parsed into frames and matched in
order. A mismatch reports the instruction, both answers, and the seed and
index that replay it.
"""

from vtpu.asm import format_instruction, format_response
from vtpu.frame import FrameReceiver, Response, decode_fields
from vtpu.isa import MORE, RECORD, RSP_SYNC, Op, Status
from vtpu.memory import CuckooMemory

from .coverage import MEMORY_EVENTS, Coverage

__all__ = ["Scoreboard", "Mismatch"]


class Mismatch(AssertionError):
    pass


_STATUSES = frozenset(int(s) for s in Status)


def _response(event):
    """A received frame as a Response, or ("CORRUPT", tag) for a bad one.
    A status nibble that is no Status stays a number, to be reported."""
    if isinstance(event, tuple):
        return ("CORRUPT", event[1])
    code = event.op & 0x0F
    status = Status(code) if code in _STATUSES else code
    return Response(status, bool(event.op & MORE), event.tag, event.payload)


def _responses(data):
    receiver = FrameReceiver(sync=RSP_SYNC, max_payload=255, check_length=False)
    return [_response(event) for event in receiver.feed(data)]


class Scoreboard:
    def __init__(self, model, seed, *, max_report=5):
        self.model, self.seed = model, seed
        self.cuckoo = isinstance(model.memory, CuckooMemory)
        self.coverage = Coverage(model.ops, sentrons=model.sentrons, memory=self.cuckoo,
                                 k_max=model.k_max)
        self.expected = []            # (index, instruction, [Response]) not yet matched
        self.receiver = FrameReceiver(sync=RSP_SYNC, max_payload=255, check_length=False)
        self.checked = 0
        self.mismatches = []
        self.max_report = max_report
        self.queue = []               # parsed DUT responses awaiting their expectation

    def _memory_events(self):
        """The cuckoo memory's counts, in ``MEMORY_EVENTS`` order."""
        if not self.cuckoo:
            return ()
        memory = self.model.memory
        return (memory.relocations, memory.refused["full"], memory.refused["no_path"],
                memory.reused)

    def expect(self, index, instruction):
        """Run the instruction's bytes through the model; remember its answers.
        Returns how many answer bytes the model sent for them."""
        # Garbage and the frame go in separately so that coverage credits an
        # opcode only with answers to its own frame: garbage can form a frame
        # with a good CRC (1 in 256) or swallow the frame that follows it.
        before = self._memory_events()
        stray_bytes = self.model.execute(instruction.garbage)
        stray = _responses(stray_bytes)
        framed = self.model.receiver.state == FrameReceiver.HUNT
        own_bytes = self.model.execute(instruction.body())
        own = _responses(own_bytes)
        answers = stray + own
        self.expected.append((index, instruction, answers))
        if self.cuckoo:
            for event, (was, now) in zip(MEMORY_EVENTS, zip(before, self._memory_events())):
                if now > was:
                    self.coverage.sample_memory(event)
        used, capacity = len(self.model.data), self.model.capacity
        records = sum(1 for a in own if a.more)
        if records and instruction.op in (Op.CRANGE, Op.CHIER) and instruction.raw is None:
            layout = RECORD[Op(instruction.op)]
            owners = {self.model.locate(decode_fields(layout, a.payload)["coord"])[0]
                      for a in own if not isinstance(a, tuple) and a.more}
            self.coverage.sample_merge(len(owners))
        if instruction.op in (Op.CATTEND, Op.CNEAREST) and instruction.raw is None and framed:
            layout = RECORD[Op(instruction.op)]
            ranked = [decode_fields(layout, a.payload) for a in own
                      if not isinstance(a, tuple) and a.more]
            ranks = [r.get("score", r.get("distance")) for r in ranked]
            self.coverage.sample_ranking(Op(instruction.op), len(ranks),
                                         any(a == b for a, b in zip(ranks, ranks[1:])))
        tied = framed and instruction.raw is None
        for answer, is_own in [(a, False) for a in stray] + [(a, True) for a in own]:
            if isinstance(answer, tuple) or answer.more:
                continue
            if tied and is_own and answer.status != Status.BAD_FRAME:
                self.coverage.sample(instruction.op, answer.status, records, used, capacity)
            elif answer.status in (Status.BAD_FRAME, Status.BAD_OPCODE):
                # Frame errors and unknown opcodes belong to no instruction.
                self.coverage.sample(None, answer.status, records, used, capacity)
            # A garbage frame that happens to decode as a real instruction is
            # checked like any other answer, but credits no coverage bin.
        return len(stray_bytes) + len(own_bytes)

    def receive(self, data):
        self.queue += [_response(event) for event in self.receiver.feed(data)]
        self._match()

    def _match(self):
        while self.expected and len(self.queue) >= len(self.expected[0][2]):
            index, instruction, want = self.expected.pop(0)
            got, self.queue = self.queue[:len(want)], self.queue[len(want):]
            self.checked += 1
            if got != want:
                self.mismatches.append((index, instruction, want, got))
                if len(self.mismatches) <= self.max_report:
                    print(self.describe(index, instruction, want, got))

    def outstanding(self):
        return sum(len(w) for _, _, w in self.expected)

    def describe(self, index, instruction, want, got):
        """The report of one mismatch: never raises, whatever the DUT sent
        (``format_response`` shows a frame that fits no layout as hex)."""
        op = instruction.op           # a raw frame's opcode may be no Op: shown as a number
        if instruction.raw is None:
            text = format_instruction(op, instruction.fields)
        else:
            text = f"raw frame {instruction.raw.hex()}"
        show = lambda rs: "\n".join("      " + format_response(op, r) for r in rs) \
            or "      (nothing)"  # noqa: E731
        return (f"MISMATCH at instruction {index} (replay: seed {self.seed}, index {index})\n"
                f"  instruction: {text}" + (f"  [after garbage {instruction.garbage.hex()}]" if instruction.garbage else "")
                + f"\n  model answered:\n{show(want)}\n  RTL answered:\n{show(got)}")
