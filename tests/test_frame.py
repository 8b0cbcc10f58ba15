"""Frame encoding round trips, CRC, and the receiver's resynchronisation."""

import random

from hypothesis import given, settings, strategies as st

from vtpu.coord import Pattern
from vtpu.frame import (Command, FrameReceiver, command_frame, decode_fields, encode_fields,
                        parse_responses, response_frame)
from vtpu.isa import (CMD_SYNC, DIMS, MAX_HOPS, MAX_PAYLOAD, PAYLOAD, RECORD, RESULT, Op,
                      Status, crc8, length_fits, payload_bytes)

comp = st.integers(0, 65535)
coords = st.tuples(*[comp] * DIMS)
deltas = st.tuples(*[st.integers(-32768, 32767)] * DIMS)
patterns = st.builds(Pattern, coords, coords, st.integers(0, 511))


def value_for(kind):
    return {"u8": st.integers(0, 255), "u16": st.integers(0, 65535),
            "u32": st.integers(0, 2**32 - 1), "u64": st.integers(0, 2**64 - 1),
            "s32": st.integers(-2**31, 2**31 - 1), "value": st.integers(0, 2**64 - 1),
            "coord": coords, "delta": deltas, "pattern": patterns}[kind]


def fields_for(fields):
    return st.fixed_dictionaries({f.name: value_for(f.kind) for f in fields if f.kind != "deltas"})


def test_crc8_check_value():
    assert crc8(b"123456789") == 0xF4      # CRC-8/SMBUS check value


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_every_payload_round_trips(data):
    for op, fields in PAYLOAD.items():
        values = data.draw(fields_for(fields))
        if op == Op.CKG:
            values["deltas"] = data.draw(st.lists(deltas, min_size=1, max_size=MAX_HOPS))
            values["hops"] = len(values["deltas"])
        payload = encode_fields(fields, values)
        assert length_fits(op, len(payload)) and len(payload) <= MAX_PAYLOAD
        assert decode_fields(fields, payload) == values
        frame = command_frame(op, 5, **values)
        (cmd,) = FrameReceiver().feed(frame)
        assert cmd == Command(int(op), 5, payload)
    for table in (RESULT, RECORD):
        for op, fields in table.items():
            values = data.draw(fields_for(fields))
            assert decode_fields(fields, encode_fields(fields, values)) == values


def test_response_frames_parse():
    frames = (response_frame(Op.CRANGE, Status.OK, 1, more=True, coord=(1,) * 9, value=7)
              + response_frame(Op.CRANGE, Status.OK, 1, count=1)
              + response_frame(Op.CGET, Status.NOT_FOUND, 2))
    a, b, c = parse_responses(frames)
    assert a.more and a.fields(Op.CRANGE) == {"coord": (1,) * 9, "value": 7}
    assert b.fields(Op.CRANGE) == {"count": 1} and not b.more
    assert c.status == Status.NOT_FOUND and c.fields(Op.CGET) == {}


def good_frames(rng, n):
    out = []
    for i in range(n):
        c = tuple(rng.randrange(65536) for _ in range(DIMS))
        out.append(command_frame(Op.CPUT, i % 256, coord=c, value=rng.getrandbits(64)))
    return out


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_resync_after_garbage_without_sync_bytes(rng):
    frames = good_frames(rng, 8)
    stream = b""
    for frame in frames:
        garbage = bytes(rng.choice([b for b in range(256) if b != CMD_SYNC]) for _ in range(rng.randrange(6)))
        stream += garbage + frame
    commands = [e for e in FrameReceiver().feed(stream) if isinstance(e, Command)]
    assert len(commands) == len(frames)


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_garbage_with_sync_bytes_never_hangs(rng):
    receiver = FrameReceiver()
    garbage = bytes(rng.choice([CMD_SYNC, rng.randrange(256)]) for _ in range(400))
    for event in receiver.feed(garbage):
        if isinstance(event, Command):             # a frame in garbage passed its CRC
            body = bytes([event.op, event.tag, len(event.payload)]) + event.payload
            assert crc8(body + bytes([crc8(body)])) == 0
    # Whatever state the garbage left, at most MAX_PAYLOAD+4 bytes of padding
    # without sync bytes bring the receiver back to hunting: then a frame gets through.
    receiver.feed(b"\x00" * (MAX_PAYLOAD + 4))
    assert receiver.state == FrameReceiver.HUNT
    (frame,) = good_frames(rng, 1)
    assert [type(e) for e in receiver.feed(frame)] == [Command]


def test_rejections():
    r = FrameReceiver()
    assert r.feed(bytes([CMD_SYNC, 0x01, 9, MAX_PAYLOAD + 1])) == [("BAD_FRAME", 9)]
    assert r.feed(bytes([CMD_SYNC, int(Op.CGET), 3, 4])) == [("BAD_FRAME", 3)]   # length misfit
    frame = bytearray(command_frame(Op.CGET, 4, coord=(0,) * 9))
    frame[-1] ^= 0xFF
    assert r.feed(bytes(frame)) == [("BAD_FRAME", 4)]
    unknown = bytes([0x77, 1, 0])
    assert r.feed(bytes([CMD_SYNC]) + unknown + bytes([crc8(unknown)])) == [Command(0x77, 1, b"")]


def test_payload_sizes():
    assert payload_bytes(PAYLOAD[Op.CPUT]) == 26
    assert payload_bytes(PAYLOAD[Op.CRANGE]) == 38
    assert MAX_PAYLOAD == 20 + 18 * MAX_HOPS
    rng = random.Random(0)
    assert all(len(f) == 31 for f in good_frames(rng, 3))
