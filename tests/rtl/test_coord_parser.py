"""CoordParser against ``vtpu.coord.parse_coord``: the same texts accepted, the same values."""

import random

from rtl.coord_parser import CoordParser
from vtpu.coord import CoordError, parse_coord, unpack
from vtpu.isa import DIMS

from sim_helpers import run_sim, stream_get


def _texts(seed, n):
    rng = random.Random(seed)
    for _ in range(n):
        comps = [str(rng.choice([rng.randrange(10), rng.randrange(1000), rng.randrange(65536),
                                 65535])) for _ in range(DIMS)]
        if rng.random() < 0.1:
            comps[rng.randrange(DIMS)] = str(rng.choice([65536, 99999, 10 ** 7]))   # too big
        if rng.random() < 0.1:
            comps[rng.randrange(DIMS)] = "0" + comps[0]          # leading zeros
        seps = list("../../..")
        if rng.random() < 0.5:                                   # one mistake, maybe
            kind = rng.randrange(6)
            if kind == 0:
                comps[rng.randrange(DIMS)] = ""                  # empty component
            elif kind == 1:
                seps[rng.randrange(8)] = rng.choice("./x ")      # wrong separator
            elif kind == 2:
                comps.pop()                                      # eight components
                seps.pop()
            elif kind == 3:
                comps.append("4")                                # ten
                seps.append(rng.choice("./"))
            elif kind == 4:
                comps[rng.randrange(DIMS)] += rng.choice("a-+ ")
            else:
                rng.shuffle(seps)                                # slashes moved: still fine
        text = comps[0] + "".join(s + c for s, c in zip(seps, comps[1:]))
        if rng.random() < 0.2:
            text = rng.choice(["", " ", "\t "]) + text + rng.choice(["", " ", "\n"])
        yield text


def test_matches_parse_coord():
    texts = list(_texts(1, 400)) + ["1.1.1/1.1.1/1.1.1", " ", "x", "/", "1.2.3/4.5.6/7.8.9/",
                                    "1.2/3.4.5.6/7.8.9", "1.2.3/4.5.6/7.8.9 ", "1.2.3/4.5 .6/7.8.9"]
    dut = CoordParser()
    got = []

    async def bench(ctx):
        for text in texts:
            data = text.encode() or b" "          # an empty text still needs a last byte
            for n, byte in enumerate(data):
                ctx.set(dut.i.payload, {"byte": byte, "last": n == len(data) - 1})
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
            out = await stream_get(ctx, dut.o)
            got.append(unpack(out.coord.as_value().value) if out.ok else None)

    run_sim(dut, bench)
    accepted = 0
    for text, answer in zip(texts, got):
        try:
            want = parse_coord(text)
        except CoordError:
            want = None
        assert answer == want, repr(text)
        accepted += want is not None
    assert 50 < accepted < len(texts) - 50           # both kinds, plenty of each


def test_one_byte_per_clock():
    """Texts back to back with the output always taken: every byte moves on its clock."""
    texts = [b"1.2.3/4.5.6/7.8.9", b"65535.0.0/0.0.0/0.0.1", b"bad"] * 3
    dut = CoordParser()
    stalls, answers = [], []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        for text in texts:
            for n, byte in enumerate(text):
                ctx.set(dut.i.payload, {"byte": byte, "last": n == len(text) - 1})
                ctx.set(dut.i.valid, 1)
                _, _, ready, valid, ok = await ctx.tick().sample(dut.i.ready, dut.o.valid, dut.o.payload.ok)
                stalls.append(not ready)
                if valid:
                    answers.append(ok)
        ctx.set(dut.i.valid, 0)
        _, _, valid, ok = await ctx.tick().sample(dut.o.valid, dut.o.payload.ok)
        answers.append(ok)

    run_sim(dut, bench)
    assert not any(stalls)
    assert answers == [1, 1, 0] * 3
