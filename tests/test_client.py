"""The client on every backend this machine can run: model, RTL in Amaranth's
simulator, RTL under Verilator. Each backend must give the model's answers."""

import pytest

from backend_params import backend_params, missing
from vtpu import VTPU, BadArgument, NotFound, Overflow, TableFull, Unsupported
from vtpu.client import HANDLE_BIT
from vtpu.coord import CoordError
from vtpu.isa import Op, Status
from vtpu.model import Model

GEOMETRY = dict(sets=16, ways=2)
A, B = "2.1.3/4.7.2/9.2.2", "2.1.3/4.7.2/9.2.3"


@pytest.fixture(scope="module", params=backend_params())
def vtpu(request):
    with VTPU(request.param, **GEOMETRY) as v:
        yield v


def _clean(v, *coords):
    for c in coords:
        try:
            v.cdel(c)
        except NotFound:
            pass


def test_put_get_text_and_numbers(vtpu):
    _clean(vtpu, A, B)
    vtpu.cput(A, "hello")
    vtpu.cput(B, 42)
    assert vtpu.cget(A) == "hello" and vtpu.cget(B) == 42
    vtpu.cput(A, "again")                       # overwrite frees the old text
    assert vtpu.cget(A) == "again"
    assert "hello" not in vtpu.heap.values()
    vtpu.cdel(A)
    with pytest.raises(NotFound) as caught:
        vtpu.cget(A)
    assert caught.value.status == Status.NOT_FOUND
    assert "again" not in vtpu.heap.values()


def test_errors_carry_status_and_lose_nothing(vtpu):
    _clean(vtpu, A)
    with pytest.raises(NotFound):
        vtpu.cdel(A)
    with pytest.raises(Overflow) as caught:
        vtpu.cdelta("0.0.0/0.0.0/0.0.0", (-1,) + (0,) * 8)
    assert caught.value.status == Status.OVERFLOW
    with pytest.raises(BadArgument):
        vtpu.cmoe(A, 0)
    # Fill the set that A lives in; the next new key there is refused.
    model = Model(**GEOMETRY)
    target = model.locate(tuple(vtpu.coord(A)))
    same_set = [c for c in ((i, 5, 5, 5, 5, 5, 5, 5, 5) for i in range(1, 3000))
                if model.locate(c) == target][:GEOMETRY["ways"] + 1]
    _clean(vtpu, A, *same_set)
    for i, c in enumerate(same_set[:-1]):
        vtpu.cput(c, f"scroll {i}")
    heap_before = dict(vtpu.heap)
    with pytest.raises(TableFull):
        vtpu.cput(same_set[-1], "one too many")
    assert vtpu.heap == heap_before              # the refused text was not kept
    for i, c in enumerate(same_set[:-1]):
        assert vtpu.cget(c) == f"scroll {i}"    # nothing evicted
    _clean(vtpu, *same_set)


def test_coordinate_ops(vtpu):
    assert vtpu.cdelta("1.1.1/1.1.1/1.1.1", "0.0.1/0.0.0/0.0.-1") == "1.1.2/1.1.1/1.1.0"
    model = Model(**GEOMETRY)
    c = (3, 1, 4, 1, 5, 9, 2, 6, 5)
    assert vtpu.croute(c, 7) == model.croute(c, 7).fields["node"]
    assert vtpu.cmoe(c, 64) == model.cmoe(c, 64).fields["expert"]
    vtpu.crtset(0, (1,) * 9, 11)
    assert vtpu.croute((2,) * 9, 1, "range") == 11


def test_labels_go_through_the_symbol_table():
    vtpu = VTPU()        # its own symbol table: labels also name numbers in answers
    vtpu.cput("person.1.1/1.1.1/1.1.1", "alice")
    number = vtpu.symbols.lookup(0, "person")
    assert vtpu.cget((number,) + (1,) * 8) == "alice"
    assert vtpu.cdelta("person.1.1/1.1.1/1.1.1", (0,) * 8 + (1,)) == "person.1.1/1.1.1/1.1.2"


def test_a_labelled_coordinate_never_aliases_a_numbered_one():
    """Issue 26: 'a' was interned to 1, so this put overwrote 1.1.1/1.1.1/1.1.1."""
    v = VTPU()
    v.cput("1.1.1/1.1.1/1.1.1", 6)
    v.cput("a.b.c/1.1.1/1.1.1", 5)
    assert v.cget("1.1.1/1.1.1/1.1.1") == 6 and v.cget("a.b.c/1.1.1/1.1.1") == 5
    assert v.crange("*.*.*/1.1.1/1.1.1") == [("1.1.1/1.1.1/1.1.1", 6), ("a.b.c/1.1.1/1.1.1", 5)]
    # A number where labels live is refused, naming the component, not silently taken.
    with pytest.raises(CoordError, match=r"component 1 \(library\): 65535 is in the label range"):
        v.cput("65535.1.1/1.1.1/1.1.1", 7)
    with pytest.raises(CoordError, match=r"component 2 \(shelf\): 40000 is in the label range"):
        v.cget((1, 40000) + (1,) * 7)


@pytest.mark.parametrize("bad", [123, None, 1.5, (1, 2, 3), "1.1.1/1.1.1"])
def test_a_coordinate_that_is_not_one_is_a_clear_value_error(bad):
    v = VTPU()
    with pytest.raises(CoordError) as caught:
        v.cget(bad)
    assert isinstance(caught.value, ValueError)
    assert "coordinate" in str(caught.value)
    if isinstance(bad, (int, float)) or bad is None:
        assert "a coordinate is text like '1.1.1/1.1.1/1.1.1' or a tuple of 9 ints" in str(caught.value)
    with pytest.raises(ValueError, match="a delta is text like"):
        v.cdelta("1.1.1/1.1.1/1.1.1", 5)


def test_batch_is_one_round_trip(vtpu):
    model, keys, sets = Model(**GEOMETRY), [], set()
    for i in range(1, 500):             # one key per set: the batch cannot fill a set
        key = (9, i, 1, 1, 1, 1, 1, 1, 1)
        if model.locate(key) not in sets and len(keys) < 8:
            sets.add(model.locate(key))
            keys.append(key)
    _clean(vtpu, *keys)
    trips = vtpu.stats["round_trips"]
    with vtpu.batch() as b:
        puts = [b.cput(k, i) for i, k in enumerate(keys)]
        gets = [b.cget(k) for k in keys]
        missing = b.cget((9, 99, 1, 1, 1, 1, 1, 1, 1))
    assert vtpu.stats["round_trips"] == trips + 1
    assert [p.result() for p in puts] == [None] * len(keys)
    assert [g.result() for g in gets] == list(range(len(keys)))
    with pytest.raises(NotFound):
        missing.result()
    _clean(vtpu, *keys)


def test_range_instructions_or_a_clear_unsupported(vtpu):
    vtpu.cput("1.1.1/1.1.1/1.1.1", "x")
    vtpu.cput("1.1.1/1.1.1/1.1.2", "y")
    # CHIER UP is pure coordinate arithmetic: every core carries it.
    assert vtpu.chier("1.1.1/1.1.1/1.1.1", "UP") == "1.1.1/1.1.1/1.1.*"
    assert vtpu.chier("1.1.1/1.1.1/1.[3:9].*", "UP") == "1.1.1/1.1.1/1.*.*"
    with pytest.raises(BadArgument):
        vtpu.chier("*.*.*/*.*.*/*.*.*", "UP")
    ops = vtpu.backend.ops
    if Op.CRANGE in ops:
        assert vtpu.crange("1.1.1/1.1.1/1.1.*") == [("1.1.1/1.1.1/1.1.1", "x"),
                                                      ("1.1.1/1.1.1/1.1.2", "y")]
        assert vtpu.chier("1.1.1/1.1.1/1.1.*", "DOWN")[0] == ("1.1.1/1.1.1/1.1.1", "x")
    else:
        with pytest.raises(Unsupported) as caught:
            vtpu.crange("1.1.1/1.1.1/1.1.*")
        assert caught.value.status == Status.BAD_OPCODE
        with pytest.raises(Unsupported):            # DOWN is a CRANGE
            vtpu.chier("1.1.1/1.1.1/1.1.*", "DOWN")
    if Op.CDIGEST in ops:
        assert vtpu.cdigest("1.1.1/1.1.1/1.1.*")[0] == 2
    if Op.CNEAREST in ops:
        assert vtpu.cnearest("1.1.1/1.1.1/1.1.3", 1) == [("1.1.1/1.1.1/1.1.2", "y", 1)]
    else:
        with pytest.raises(Unsupported):
            vtpu.cnearest("1.1.1/1.1.1/1.1.3", 1)
    if Op.CATTEND in ops:
        assert vtpu.cattend("1.1.1/1.1.1/1.1.1", "1.1.1/1.1.1/1.1.*", 1, "distance") == \
            [("1.1.1/1.1.1/1.1.1", 0)]
    vtpu.cdel("1.1.1/1.1.1/1.1.1")
    vtpu.cdel("1.1.1/1.1.1/1.1.2")


def test_health_and_stats(vtpu):
    _clean(vtpu, "9.9.9/9.9.9/9.9.9")
    health = vtpu.health()
    assert health == {"status": "ok", "backend": vtpu.backend.name, "capacity": 32,
                      "stored": health["stored"]}
    assert 0 <= health["stored"] <= 32             # the device's own count (a CDIGEST of all)
    vtpu.cput("9.9.9/9.9.9/9.9.9", 1)          # at least one CGET and one OK, whatever ran before
    assert vtpu.health()["stored"] == health["stored"] + 1
    assert vtpu.cget("9.9.9/9.9.9/9.9.9") == 1
    vtpu.cdel("9.9.9/9.9.9/9.9.9")
    stats = vtpu.get_stats()
    assert stats["backend"] == vtpu.backend.name and stats["capacity"] == 32
    assert stats["instructions"]["CGET"] >= 1 and stats["statuses"]["OK"] >= 1


def test_integer_content_range_is_checked():
    v = VTPU()
    with pytest.raises(ValueError):
        v.cput(A, HANDLE_BIT)
    with pytest.raises(TypeError):
        v.cput(A, 1.5)


def test_ckg_follows_relations_and_reports_the_partial_path():
    v = VTPU()
    father = (0, 0, 0, 1, 0, 0, 0, 0, 0)
    v.cput("1.1001.1/1.0.0/0.0.0", 1002)
    v.cput("1.1002.1/1.0.0/0.0.0", 1003)
    assert v.ckg("1.1001.1/0.0.0/0.0.0", [father], 2, entity=1) == [
        ("1.1001.1/1.0.0/0.0.0", 1002), ("1.1002.1/1.0.0/0.0.0", 1003)]
    with pytest.raises(NotFound) as caught:
        v.ckg("1.1001.1/0.0.0/0.0.0", [father], 3, entity=1)
    assert len(caught.value.records) == 2


@pytest.mark.parametrize("name", backend_params())
def test_same_program_same_answers_on_every_backend(name):
    """A random stream through each backend's client path gives the model's
    bytes for the instructions that backend carries (sim and Verilator carry the
    same: both RTL backends give identical bytes)."""
    from tb.stimulus import Stimulus
    from vtpu.driver import open_backend
    data = b"".join(i.frame() for i in Stimulus(11, garbage=0.05).take(300))
    with open_backend(name, **GEOMETRY) as backend:
        if name != "model":
            from rtl.sentron.execute import IMPLEMENTED_OPS
            assert backend.ops == IMPLEMENTED_OPS
        from rtl.topk_unit import K_MAX
        # the gateware ranks at most K_MAX (CNEAREST, CATTEND)
        reference = Model(**GEOMETRY, ops=backend.ops, k_max=None if name == "model" else K_MAX)
        assert backend.transact(data) == reference.execute(data)


@pytest.mark.skipif(missing("verilator") is not None, reason=str(missing("verilator")))
def test_verilator_backends_at_once_share_one_build():
    """Two Verilator backends open together (a server and a script, say): one
    build serves both, each runs it as a process of its own, and each process
    exits when its backend closes."""
    from vtpu.driver import VerilatorBackend
    first = VerilatorBackend(**GEOMETRY)
    try:
        second = VerilatorBackend(**GEOMETRY)
        try:
            assert first.program == second.program
            assert first._child.pid != second._child.pid
            clients = [VTPU(device) for device in (first, second)]
            for n, v in enumerate(clients):
                v.cput(A, n + 10)
            assert [v.cget(A) for v in clients] == [10, 11]
            assert first.clocks > 0 and second.clocks > 0
        finally:
            second.close()
    finally:
        first.close()
    assert first._child.returncode == 0 and second._child.returncode == 0
