"""The cocotb scoreboard's bookkeeping, checked against a second golden model
standing in for the DUT (no simulator needed)."""

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from tb.scoreboard import Scoreboard
from tb.stimulus import Instruction, Stimulus
from vtpu.asm import format_instruction, format_response, parse_line
from vtpu.coord import parse_coord
from vtpu.frame import (Response, decode_fields, encode_command, encode_fields, encode_response,
                        parse_responses, response_frame)
from vtpu.isa import CMD_SYNC, FINAL, RECORD, RESULT, Op, Status
from vtpu.model import Model


def _run(instructions, *, dut=None):
    board = Scoreboard(Model(sets=4, ways=2), seed=0)
    dut = dut or Model(sets=4, ways=2)
    for index, instruction in enumerate(instructions):
        board.expect(index, instruction)
        board.receive(dut.execute(instruction.frame()))
    return board


def test_garbage_frame_with_unknown_opcode_is_not_credited_to_the_next_instruction():
    # Garbage that happens to form a good-CRC frame with an unknown opcode in
    # front of a CPUT: its BAD_OPCODE is a frame bin, never CPUT/BAD_OPCODE.
    stray = encode_command(0x7E, 9, b"")
    put = Instruction(Op.CPUT, {"coord": parse_coord("1.1.1/1.1.1/1.1.1"), "value": 5}, 1, stray)
    board = _run([put])
    assert board.checked == 1 and not board.mismatches
    hits = board.coverage.hits()
    assert hits["CPUT/OK"] == 1 and hits["frame/BAD_OPCODE"] == 1
    assert not board.coverage.unexpected()


def test_swallowed_frame_credits_no_opcode():
    # A lone sync byte makes the receiver take the CGET's own bytes as a header.
    get = Instruction(Op.CGET, {"coord": parse_coord("1.1.1/1.1.1/1.1.1")}, 3, bytes([CMD_SYNC]))
    board = _run([get])
    assert not board.mismatches
    assert not [b for b in board.coverage.hits() if b.startswith("CGET/")]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_streams_with_garbage_match_and_stay_in_reachable_bins(seed):
    stimulus = Stimulus(seed, garbage=0.3, unknown=0.05)
    board = _run([stimulus.next() for _ in range(200)])
    assert board.checked == 200 and not board.mismatches
    assert not board.coverage.unexpected()


def test_a_wrong_answer_is_reported_with_seed_and_index(capsys):
    class Broken(Model):           # forgets every stored value
        def command(self, cmd):
            if not isinstance(cmd, tuple) and cmd.op == Op.CGET:
                return encode_response(Status.NOT_FOUND, cmd.tag)
            return super().command(cmd)
    at = parse_coord("2.1.3/4.7.2/9.2.2")
    program = [Instruction(Op.CPUT, {"coord": at, "value": 42}, 4),
               Instruction(Op.CGET, {"coord": at}, 5)]
    board = _run(program, dut=Broken(sets=4, ways=2))
    assert board.checked == 2 and len(board.mismatches) == 1
    report = capsys.readouterr().out
    assert "MISMATCH at instruction 1 (replay: seed 0, index 1)" in report
    assert "CGET 2.1.3/4.7.2/9.2.2" in report and "NOT_FOUND" in report


def test_parallel_jobs_coverage_and_tallies_add_up(tmp_path):
    # make sim's jobs each write their coverage; the run is judged on the sum.
    from tb.coverage import Coverage
    from tb.run import merge_results
    puts = [Instruction(Op.CPUT, {"coord": parse_coord(f"1.1.1/1.1.1/1.1.{i}"), "value": i}, i)
            for i in range(1, 4)]
    gets = [Instruction(Op.CGET, {"coord": parse_coord("1.1.1/1.1.1/1.1.9")}, 9)]
    for name, program in (("a", puts), ("b", gets)):
        _run(program).coverage.write(tmp_path / f"{name}.json")
    ops = Model(sets=4, ways=2).ops
    alone = Coverage.merge(ops, [tmp_path / "a.json"])
    both = Coverage.merge(ops, [tmp_path / "a.json", tmp_path / "b.json"])
    assert "CGET/NOT_FOUND" in alone.missing() and "CGET/NOT_FOUND" not in both.missing()
    assert both.hits()["CPUT/OK"] == 3 and both.hits()["CGET/NOT_FOUND"] == 1
    assert "CDEL/OK" in both.missing() and not both.unexpected()
    tallies = merge_results([
        {"instructions": 10, "random": 8, "directed": 2, "mismatches": 0, "unmatched": 0,
         "clocks": 100, "seconds": 4.0},
        {"instructions": 7, "random": 7, "directed": 0, "mismatches": 1, "unmatched": 2,
         "clocks": 50, "seconds": 5.0}])
    assert tallies == {"instructions": 17, "random": 15, "directed": 2, "mismatches": 1,
                       "unmatched": 2, "clocks": 150, "seconds": 5.0}


# --- a wrong answer of every kind is reported, decoded, never a traceback ------------

SEED = 1234
SETUP = ["CPUT 1.1.1/1.1.1/1.1.1, 0x11", "CPUT 1.1.1/1.1.1/1.1.2, 0x22",
         "CPUT 1.1.1/1.1.1/1.1.3, 0x33", "CPUT 1.1.1/1.1.1/1.2.1, 0x0203",
         "CPUT 1.5.1/1.0.0/0.0.0, 0x44"]
AT = len(SETUP)                  # the index (and tag) of the instruction under test
ONE = parse_coord("1.1.1/1.1.1/1.1.1")


def _frames(answers):
    return b"".join(encode_response(a.status, a.tag, a.payload, a.more) for a in answers)


def _with(answer, **changes):
    """One answer frame with a field of its payload changed."""
    op = changes.pop("op")
    layout = RECORD[op] if answer.more else FINAL if "count" in changes else RESULT[op]
    fields = {**decode_fields(layout, answer.payload), **changes}
    return replace(answer, payload=encode_fields(layout, fields))


# (instruction, how the DUT gets it wrong, lines of the model's answer, lines of the RTL's)
WRONG = {
    "CGET value": (
        "CGET 1.1.1/1.1.1/1.1.1",
        lambda a: response_frame(Op.CGET, Status.OK, AT, value=0x12),
        ["#5 CGET OK value=0x11"], ["#5 CGET OK value=0x12"]),
    "CPUT status": (
        "CPUT 1.1.1/1.1.1/1.1.4, 0x55",
        lambda a: encode_response(Status.TABLE_FULL, AT),
        ["#5 CPUT OK"], ["#5 CPUT TABLE_FULL"]),
    "CDEL with a record": (          # RECORD has no CDEL: shown as hex
        "CDEL 1.1.1/1.1.1/1.1.1",
        lambda a: response_frame(Op.CRANGE, Status.OK, AT, more=True, coord=ONE, value=0x11) + _frames(a),
        ["#5 CDEL OK"], ["#5 CDEL OK + payload=" + encode_fields(RECORD[Op.CRANGE], {"coord": ONE, "value": 0x11}).hex()]),
    "CDELTA coord": (
        "CDELTA 1.1.1/1.1.1/1.1.1, 0.0.0/0.0.0/0.0.1",
        lambda a: response_frame(Op.CDELTA, Status.OK, AT, coord=parse_coord("1.1.1/1.1.1/1.1.3")),
        ["#5 CDELTA OK 1.1.1/1.1.1/1.1.2"], ["#5 CDELTA OK 1.1.1/1.1.1/1.1.3"]),
    "CHIER UP mask past the last component": (
        "CHIER 1.1.1/1.1.1/1.1.*, UP",
        lambda a: _frames([_with(a[0], op=Op.CHIER, pattern=replace(
            decode_fields(RESULT[Op.CHIER], a[0].payload)["pattern"], mask=0x1180))]),
        ["#5 CHIER OK pattern=1.1.1/1.1.1/1.*.*"], ["#5 CHIER OK pattern=1.1.1/1.1.1/1.*.* (mask 0x1180)"]),
    "CHIER DOWN record dropped": (
        "CHIER 1.1.1/1.1.1/1.1.*, DOWN",
        lambda a: _frames(a[:1] + a[2:]),
        ["#5 CHIER OK + 1.1.1/1.1.1/1.1.1 value=0x11", "#5 CHIER OK + 1.1.1/1.1.1/1.1.2 value=0x22",
         "#5 CHIER OK + 1.1.1/1.1.1/1.1.3 value=0x33", "#5 CHIER OK count=3"],
        ["#5 CHIER OK + 1.1.1/1.1.1/1.1.1 value=0x11", "#5 CHIER OK + 1.1.1/1.1.1/1.1.3 value=0x33",
         "#5 CHIER OK count=3", "#6 CHIER NOT_FOUND"]),
    "CROUTE node": (
        "CROUTE 1.1.1/1.1.1/1.1.1, 7",
        lambda a: _frames([_with(a[0], op=Op.CROUTE, node=0)]),
        ["#5 CROUTE OK node=1"], ["#5 CROUTE OK node=0"]),
    "CRTSET status": (
        "CRTSET 2, 1.1.1/1.1.1/1.1.1, 5",
        lambda a: encode_response(Status.BAD_ARG, AT),
        ["#5 CRTSET OK"], ["#5 CRTSET BAD_ARG"]),
    "CMOE expert": (
        "CMOE 1.1.1/1.1.1/1.1.1, 16",
        lambda a: _frames([_with(a[0], op=Op.CMOE, expert=15)]),
        ["#5 CMOE OK expert=6"], ["#5 CMOE OK expert=15"]),
    "CRANGE record dropped, another without MORE": (
        "CRANGE 1.1.1/1.1.1/1.*.*",
        lambda a: _frames([a[0], replace(a[2], more=False)] + a[3:]),
        ["#5 CRANGE OK + 1.1.1/1.1.1/1.1.2 value=0x22", "#5 CRANGE OK + 1.1.1/1.1.1/1.1.3 value=0x33",
         "#5 CRANGE OK count=4"],
        ["#5 CRANGE OK + 1.1.1/1.1.1/1.1.1 value=0x11", "#5 CRANGE OK 1.1.1/1.1.1/1.1.3 value=0x33",
         "#5 CRANGE OK + 1.1.1/1.1.1/1.2.1 value=0x203", "#5 CRANGE OK count=4", "#6 CRANGE NOT_FOUND"]),
    "CDIGEST digest": (
        "CDIGEST 1.1.1/1.1.1/1.1.*",
        lambda a: _frames([_with(a[0], op=Op.CDIGEST, digest=0xD16E)]),
        ["#5 CDIGEST OK count=3 digest=0x"], ["#5 CDIGEST OK count=3 digest=0xd16e"]),
    "CNEAREST distance": (
        "CNEAREST 1.1.1/1.1.1/1.1.4, 2",
        lambda a: _frames([a[0], _with(a[1], op=Op.CNEAREST, distance=7), a[2]]),
        ["#5 CNEAREST OK + 1.1.1/1.1.1/1.1.3 value=0x33 distance=1",
         "#5 CNEAREST OK + 1.1.1/1.1.1/1.1.2 value=0x22 distance=2", "#5 CNEAREST OK count=2"],
        ["#5 CNEAREST OK + 1.1.1/1.1.1/1.1.2 value=0x22 distance=7"]),
    "CATTEND score": (
        "CATTEND 1.1.1/1.1.1/1.2.1, 1.1.1/1.1.1/1.*.*, 2",
        lambda a: _frames([_with(a[0], op=Op.CATTEND, score=-5)] + a[1:]),
        ["#5 CATTEND OK + 1.1.1/1.1.1/1.1.3 score=153", "#5 CATTEND OK + 1.1.1/1.1.1/1.1.2 score=102",
         "#5 CATTEND OK count=2"],
        ["#5 CATTEND OK + 1.1.1/1.1.1/1.1.3 score=-5"]),
    "CKG status": (
        "CKG 1.5.1/0.0.0/0.0.0, 1, 0.0.0/1.0.0/0.0.0; 0.0.0/1.0.0/0.0.0",
        lambda a: _frames([a[0], replace(a[1], status=Status.OVERFLOW)]),
        ["#5 CKG OK + 1.5.1/1.0.0/0.0.0 value=0x44", "#5 CKG NOT_FOUND count=1"],
        ["#5 CKG OK + 1.5.1/1.0.0/0.0.0 value=0x44", "#5 CKG OVERFLOW count=1"]),
    "unknown opcode": (
        encode_command(0x7F, AT, b""),
        lambda a: encode_response(Status.OK, AT, b"\xde\xad\xbe"),
        ["#5 op 0x7f BAD_OPCODE"], ["#5 op 0x7f OK payload=deadbe"]),
    "garbage: a corrupt frame": (
        "CGET 1.1.1/1.1.1/1.1.2",
        lambda a: _frames(a)[:-1] + bytes([_frames(a)[-1] ^ 0xFF]),
        ["#5 CGET OK value=0x22"], ["#5 CORRUPT frame (bad CRC or length)"]),
    "garbage: no status, no layout": (
        "CGET 1.1.1/1.1.1/1.1.2",
        lambda a: _frames([Response(9, False, AT, b"\x01\x02\x03")]),
        ["#5 CGET OK value=0x22"], ["#5 CGET status 9 payload=010203"]),
}


def _sections(report):
    _, rest = report.split("  model answered:\n")
    model, rtl = rest.split("  RTL answered:\n")
    return [line.strip() for line in model.splitlines()], [line.strip() for line in rtl.splitlines()]


@pytest.mark.parametrize("case", list(WRONG))
def test_every_kind_of_wrong_answer_reads_as_both_answers_and_the_replay_seed(case, capsys):
    source, wrong, model_lines, rtl_lines = WRONG[case]
    board = Scoreboard(Model(sets=16, ways=4), seed=SEED)
    dut = Model(sets=16, ways=4)
    for index, text in enumerate(SETUP):
        instruction = _instruction(text, index)
        board.expect(index, instruction)
        board.receive(dut.execute(instruction.frame()))
    garbage = b"\x13\x37\x00" if case.startswith("garbage") else b""
    if isinstance(source, bytes):
        instruction = Instruction(source[1], {}, AT, garbage, raw=source)
    else:
        instruction = _instruction(source, AT, garbage)
    board.expect(AT, instruction)
    board.receive(wrong(parse_responses(dut.execute(instruction.frame()))))
    if not board.mismatches:         # an answer short of frames: the next one completes it
        follow = _instruction("CGET 9.9.9/9.9.9/9.9.9", AT + 1)
        board.expect(AT + 1, follow)
        board.receive(dut.execute(follow.frame()))
    assert [m[0] for m in board.mismatches] == [AT]
    report = capsys.readouterr().out
    assert f"MISMATCH at instruction {AT} (replay: seed {SEED}, index {AT})" in report
    text = f"raw frame {source.hex()}" if isinstance(source, bytes) else \
        format_instruction(instruction.op, instruction.fields)
    assert f"  instruction: {text}" in report
    if garbage:
        assert f"[after garbage {garbage.hex()}]" in report
    model, rtl = _sections(report)
    assert model == [format_response(instruction.op, r) for r in board.mismatches[0][2]]
    for line in model_lines:
        assert any(got.startswith(line) for got in model), (line, model)
    for line in rtl_lines:
        assert line in rtl, (line, rtl)


def _instruction(text, tag, garbage=b""):
    parsed = parse_line(text)
    return Instruction(parsed.op, parsed.fields, tag, garbage)


payloads = st.one_of(st.binary(max_size=64),
                     st.sampled_from([2, 4, 8, 12, 18, 22, 26, 30, 38]).flatmap(
                         lambda n: st.binary(min_size=n, max_size=n)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([None, 0x00, 0x7F, 0xFF] + list(Op)), st.integers(0, 15), st.booleans(),
       st.integers(0, 255), payloads)
def test_format_response_takes_any_frame(op, code, more, tag, payload):
    status = Status(code) if code <= max(Status) else code
    line = format_response(op, Response(status, more, tag, payload))
    assert line.startswith(f"#{tag} ")
    assert line.endswith(f" payload={payload.hex()}") or "payload=" not in line
    assert format_response(op, ("CORRUPT", tag)) == f"#{tag} CORRUPT frame (bad CRC or length)"
