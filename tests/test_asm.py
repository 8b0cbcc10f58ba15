"""Assembler and disassembler: round trips, labels, errors with file:line."""

import pytest
from hypothesis import given, settings, strategies as st

from vtpu.asm import AsmError, assemble, assemble_program, disassemble, format_response
from vtpu.coord import SymbolTable
from vtpu.frame import FrameReceiver, parse_responses
from vtpu.isa import Op, Status
from vtpu.model import Model

PROGRAM = """\
# every instruction once
CPUT   2.1.3/4.7.2/9.2.2, 0x2a
CGET   2.1.3/4.7.2/9.2.2        ; a comment
CDEL   2.1.3/4.7.2/9.2.9
CRANGE 2.*.*/*.*.*/[1:9].*.*
CDELTA 1.1.1/1.1.1/1.1.1, 0.0.1/0.0.0/0.0.-1
CNEAREST 1.1.1/1.1.1/1.1.1, 4
CHIER  2.1.3/4.7.11/18.29.47, UP
CHIER  2.1.3/4.7.11/18.29.*, down
CROUTE 2.1.3/4.7.11/18.29.47, 8
CROUTE 2.1.3/4.7.11/18.29.47, 4, RANGE
CRTSET 0, 1.1.1/1.1.1/1.1.1, 3
CATTEND 1.1.1/1.1.1/1.1.1, 2.*.*/*.*.*/*.*.*, 4
CATTEND 1.1.1/1.1.1/1.1.1, 2.*.*/*.*.*/*.*.*, 4, DISTANCE
CMOE   2.1.3/4.7.11/18.29.47, 16
CKG    1.1001.1/0.0.0/0.0.0, 1, 0.0.0/1.0.0/0.0.0; 0.0.0/1.0.0/0.0.0   # two hops
CDIGEST *.*.*/*.*.*/*.*.*
"""


def test_every_instruction_assembles_and_round_trips():
    frames = assemble(PROGRAM)
    commands = FrameReceiver().feed(frames)
    assert [Op(c.op) for c in commands] == [i.op for i in assemble_program(PROGRAM)]
    assert {Op(c.op) for c in commands} == set(Op)
    assert [c.tag for c in commands] == list(range(len(commands)))
    text = disassemble(frames)
    assert assemble(text) == frames
    assert disassemble(assemble(text)) == text


def test_labels():
    symbols = SymbolTable()
    frames = assemble("CPUT person.1001.1/father.1.1/1.1.1, 1002\nCGET person.1001.1/father.1.1/1.1.1",
                      symbols=symbols)
    answers = parse_responses(Model().execute(frames))
    assert answers[1].fields(Op.CGET) == {"value": 1002}
    assert "person.1001.1/father.1.1/1.1.1" in disassemble(frames, symbols=symbols)


@pytest.mark.parametrize("line, message", [
    ("CPUT 1.1.1/1.1.1/1.1.1", "prog.vasm:2: CPUT expects 'coordinate, value'"),
    ("FOO 1", "prog.vasm:2: unknown instruction 'FOO'"),
    ("CGET 1.1.1/1.x.1/1.1.1", "prog.vasm:2: coordinate '1.1.1/1.x.1/1.1.1', component 5"),
    ("CHIER 1.1.1/1.1.1/1.1.1, SIDEWAYS", "prog.vasm:2: direction must be UP|DOWN"),
    ("CPUT 1.1.1/1.1.1/1.1.1, lots", "prog.vasm:2: value must be a number"),
    ("CDELTA 1.1.1/1.1.1/1.1.1, 1.1/1.1.1/1.1.1", "prog.vasm:2: delta"),
    # Field ranges carry the line too (issue 26: "value=-1 does not fit value", no line).
    ("CPUT 1.1.1/1.1.1/1.1.1, -1", "prog.vasm:2: value -1 is outside 0..18446744073709551615"),
    ("CNEAREST 1.1.1/1.1.1/1.1.1, 256", "prog.vasm:2: k 256 is outside 0..255"),
    ("CMOE 1.1.1/1.1.1/1.1.1, 0x10000", "prog.vasm:2: n 65536 is outside 0..65535"),
    ("CDELTA 1.1.1/1.1.1/1.1.1, 0.0.1/0.0.0/0.0.40000",
     "prog.vasm:2: delta 0.0.1/0.0.0/0.0.40000, component 9 (scroll): 40000 is outside -32768..32767"),
    ("CKG 1.1.1/1.1.1/1.1.1, 1, " + "; ".join(["0.0.0/1.0.0/0.0.0"] * 64),
     "prog.vasm:2: payload of"),
    ("CGET 1.1.1/1.1.-1/1.1.1", "prog.vasm:2: coordinate '1.1.1/1.1.-1/1.1.1', component 6 (book): "
                                "'-1' is negative"),
    ("CGET a.1.1/1.1.1/1.1.1", "prog.vasm:2: coordinate 'a.1.1/1.1.1/1.1.1', component 1 (library): "
                               "'a' is a label"),
])
def test_errors_give_file_line_and_expectation(line, message):
    with pytest.raises(AsmError) as err:
        assemble("CGET 1.1.1/1.1.1/1.1.1\n" + line, filename="prog.vasm")
    assert str(err.value).startswith(message)


comp = st.integers(0, 999).map(str)
coord_text = st.lists(comp, min_size=9, max_size=9).map(
    lambda c: ".".join(c[:3]) + "/" + ".".join(c[3:6]) + "/" + ".".join(c[6:]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("CPUT"), coord_text, st.integers(0, 2**64 - 1).map(hex)),
    st.tuples(st.just("CGET"), coord_text),
    st.tuples(st.just("CNEAREST"), coord_text, st.integers(0, 255).map(str)),
    st.tuples(st.just("CMOE"), coord_text, st.integers(0, 65535).map(str)),
), max_size=10))
def test_random_programs_round_trip(lines):
    program = "\n".join(f"{l[0]} " + ", ".join(l[1:]) for l in lines)
    frames = assemble(program)
    assert assemble(disassemble(frames)) == frames


def test_format_response():
    m = Model()
    answers = parse_responses(m.execute(assemble("CPUT 1.1.1/1.1.1/1.1.1, 42\nCGET 1.1.1/1.1.1/1.1.1\n"
                                                  "CRANGE 1.*.*/*.*.*/*.*.*\nCGET 1.1.1/1.1.1/1.1.2")))
    ops = [Op.CPUT, Op.CGET, Op.CRANGE, Op.CRANGE, Op.CGET]
    lines = [format_response(op, r) for op, r in zip(ops, answers)]
    assert lines == ["#0 CPUT OK", "#1 CGET OK value=0x2a", "#2 CRANGE OK + 1.1.1/1.1.1/1.1.1 value=0x2a",
                     "#2 CRANGE OK count=1", "#3 CGET NOT_FOUND"]
    assert answers[-1].status == Status.NOT_FOUND
