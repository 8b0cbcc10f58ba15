"""Constrained-random instruction streams shaped like real data.

Clustered phext-like coordinates (small values on a few components), hot keys
(a fifth of the keys take most accesses), deletes, tables small enough to
fill, overflowing deltas, bad arguments, route-table loads, unknown opcodes
and garbage bytes between frames. Deterministic for a seed: the seed and the
instruction index replay any failure.
"""

import random

from rtl.topk_unit import K_MAX
from vtpu.coord import Pattern
from vtpu.frame import command_frame, encode_command
from vtpu.isa import CMD_SYNC, DIMS, MAX_HOPS, ROUTE_ENTRIES, Op

__all__ = ["Stimulus", "Instruction"]


class Instruction:
    """One generated instruction: opcode, fields, and how it goes on the wire."""

    def __init__(self, op, fields, tag, garbage=b"", raw=None):
        self.op, self.fields, self.tag, self.garbage, self.raw = op, fields, tag, garbage, raw

    def body(self):
        """The instruction's own frame, without the garbage in front of it."""
        if self.raw is None:
            # encoded once: the scoreboard and the stimulus file both need it
            self._body = getattr(self, "_body", None) or command_frame(self.op, self.tag,
                                                                       **self.fields)
            return self._body
        return self.raw

    def frame(self):
        return self.garbage + self.body()

    def __repr__(self):
        what = f"raw={self.raw.hex()}" if self.raw is not None else f"{Op(self.op).name} {self.fields}"
        return f"<#{self.tag} {what}{' after garbage ' + self.garbage.hex() if self.garbage else ''}>"


class Stimulus:
    def __init__(self, seed, *, ops=frozenset(Op), keys=48, spread=4, garbage=0.02, unknown=0.01,
                 mix=None):
        self.rng = random.Random(seed)
        self.mix = {Op.CGET: 6, Op.CPUT: 6, Op.CDEL: 2, **(mix or {})}   # relative weights
        self.ops = sorted(ops)
        self.garbage, self.unknown = garbage, unknown
        rng = self.rng
        # A cluster: a few components vary over 1..spread, the rest are fixed.
        base = [rng.randrange(1, 1000) for _ in range(DIMS)]
        self.varying = varying = rng.sample(range(DIMS), 3)
        self.keys = []
        while len(self.keys) < keys:
            c = list(base)
            for d in varying:
                c[d] = rng.randrange(1, spread + 1) + base[d]
            if tuple(c) not in self.keys:
                self.keys.append(tuple(c))
        self.hot = self.keys[: max(1, keys // 5)]
        self.tag = 0

    def coord(self):
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return rng.choice(self.hot)
        if r < 0.9:
            return rng.choice(self.keys)
        if r < 0.95:
            return tuple(rng.choice([0, 65535, rng.randrange(65536)]) for _ in range(DIMS))
        return tuple(rng.randrange(1, 1000) for _ in range(DIMS))

    def pattern(self):
        rng = self.rng
        a, b = self.coord(), self.coord()
        lo, hi = list(map(min, a, b)), list(map(max, a, b))
        mask = 0
        for d in range(DIMS):
            if rng.random() < 0.3:
                mask |= 1 << d
        if rng.random() < 0.05:            # a bad box: lo > hi on a non-wildcard component
            d = rng.choice([d for d in range(DIMS) if not mask >> d & 1] or [0])
            mask &= ~(1 << d)
            lo[d], hi[d] = hi[d] + 1, lo[d]
            hi[d] = max(0, min(hi[d], lo[d] - 1))
            lo[d] = min(lo[d], 65535)
        if rng.random() < 0.02:
            mask |= 1 << rng.randrange(DIMS, 16)
        return Pattern(tuple(lo), tuple(hi), mask)

    def delta(self):
        rng = self.rng
        big = rng.random() < 0.15
        return tuple(rng.randrange(-32768, 32768) if big and rng.random() < 0.3 else rng.randrange(-3, 4)
                     for _ in range(DIMS))

    def value(self):
        """Half the time 64 random bits, half what some key has in the first
        component the keys vary in, which a CKG walk through that component
        steps to."""
        if self.rng.random() < 0.5:
            return self.rng.choice(self.keys)[self.varying[0]]
        return self.rng.getrandbits(64)

    def step(self):
        """A CKG delta: mostly none, else a small one along a component the keys
        vary in, sometimes anywhere."""
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            return (0,) * DIMS
        if r < 0.9:
            d = [0] * DIMS
            d[rng.choice(self.varying)] = rng.randrange(-2, 3)
            return tuple(d)
        return tuple(rng.randrange(-2, 3) for _ in range(DIMS))

    def rank(self):
        """CNEAREST's and CATTEND's k: often the gateware's sorter size
        (``K_MAX``) or one more, else 0 .. K_MAX + 2."""
        r = self.rng.random()
        return K_MAX if r < 0.2 else K_MAX + 1 if r < 0.3 else self.small(K_MAX + 2)

    def cluster(self):
        """A box around every key: the components the keys vary in are wild."""
        base = self.keys[0]
        mask = sum(1 << d for d in self.varying)
        return Pattern(base, base, mask)

    def small(self, top):
        """Mostly sensible, sometimes zero (a bad argument)."""
        return 0 if self.rng.random() < 0.05 else self.rng.randrange(1, top + 1)

    def fields(self, op):
        rng = self.rng
        if op in (Op.CGET, Op.CDEL):
            return {"coord": self.coord()}
        if op == Op.CPUT:
            return {"coord": self.coord(), "value": self.value()}
        if op in (Op.CRANGE, Op.CDIGEST):
            return {"pattern": self.pattern()}
        if op == Op.CDELTA:
            return {"coord": self.coord(), "delta": self.delta()}
        if op == Op.CNEAREST:
            return {"coord": self.coord(), "k": self.rank()}
        if op == Op.CHIER:
            return {"pattern": self.pattern(), "dir": rng.choice([0, 0, 1, 1, 2])}
        if op == Op.CROUTE:
            return {"coord": self.coord(), "n": self.small(20), "mode": rng.choice([0, 0, 1, 1, 2])}
        if op == Op.CRTSET:
            return {"index": rng.randrange(ROUTE_ENTRIES + 2), "bound": self.coord(),
                    "node": rng.randrange(65536)}
        if op == Op.CATTEND:
            pattern = self.pattern() if rng.random() < 0.7 else self.cluster()
            return {"coord": self.coord(), "pattern": pattern, "k": self.rank(),
                    "mode": rng.choice([0, 0, 1, 3])}
        if op == Op.CMOE:
            return {"coord": self.coord(), "n": self.small(64)}
        if op == Op.CKG:
            # Walks that go somewhere: the entity is the component whose
            # values CPUT stores (``value``), and most deltas are 0.
            hops = rng.choice([1, 1, 2, 2, 3, 4, rng.randrange(1, MAX_HOPS + 1)])
            deltas = [self.step() for _ in range(hops)]
            entity = self.varying[0] if rng.random() < 0.8 else rng.randrange(DIMS + 1)
            said = hops
            if rng.random() < 0.03:       # a hops field the deltas do not match: BAD_ARG
                said = rng.choice([0, hops - 1, hops + 1])
            return {"coord": self.coord(), "entity": entity, "hops": said, "deltas": deltas}
        raise ValueError(op)

    def weights(self):
        return [self.mix.get(op, 1) for op in self.ops]

    def next(self):
        rng = self.rng
        tag = self.tag
        self.tag = (self.tag + 1) % 256
        garbage = b""
        if rng.random() < self.garbage:
            garbage = bytes(rng.choice([CMD_SYNC, rng.randrange(256)]) for _ in range(rng.randrange(1, 8)))
        if rng.random() < self.unknown:
            op = rng.choice([0x00, 0x0E, 0x7F, 0xFF])
            return Instruction(op, {}, tag, garbage, raw=encode_command(op, tag, b""))
        op = rng.choices(self.ops, self.weights())[0]
        return Instruction(op, self.fields(op), tag, garbage)

    def take(self, n):
        return [self.next() for _ in range(n)]
