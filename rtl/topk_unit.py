"""TopKUnit: CATTEND and CNEAREST, as a CRANGE through the sentrons ranked
into a top-k sorter.

    i -> TopKUnit -> o -> sentrons -> answers -> TopKUnit -> answer
         (CGET of q for DOT, then a CRANGE of the box: records in Z-order)

The sentrons' Z-order indexes walk the box (CATTEND's pattern; CNEAREST's
a box around ``q``, below) and answer its keys with their values from the tables,
merged across sentrons in ascending Z-order by the array. Each record is
scored as it arrives:

* CATTEND DOT: the dot product of its value's eight signed 8-bit lanes with
  those of the value at ``q`` (fetched first by a CGET: NOT_FOUND if absent);
* CATTEND DISTANCE: minus the L1 distance of its coordinate from ``q``;
* CNEAREST: minus the L1 distance too, answered as the distance;

and inserted into a sorter of ``k_max`` entries (an insertion sorter: every
entry compares its score with the new one at once, the entries below the
place shift down), one record a clock. A new record goes below every entry
whose score is at least its own: records arrive in Z-order, so ties stay in
Z-order, as the model's stable sort leaves them. When the CRANGE has
answered, the first ``k`` entries are answered as records, best first.

BAD_ARG, as the model's (``Model(k_max=...)``): ``k`` of 0 or above
``k_max``; for CATTEND a mode that is neither or a bad pattern, before
NOT_FOUND.

CNEAREST searches outward from ``q``, bounded by what it has found. Its box
is every coordinate within ``radius`` of ``q`` in every component (an
L-infinity ball, which the sentrons' index walks as it walks any CRANGE,
skipping every subtree outside it), starting at 1. Once k keys are in, the
k-th best L1 distance ``d`` bounds the answer: every key at most ``d`` away
lies in the box of radius ``d``, so a box that reaches ``d`` holds the whole
answer, and one that does not is searched once more at radius ``d``; with
fewer than k keys the radius doubles, up to the whole space. Each search
ranks its box afresh. So the keys visited are those of one box a little
wider than the k nearest need, not the whole table (``make bench``:
``rtl.cnearest.clocks.capN``). In many dimensions a box holds many keys per
key inside the L1 ball, so keys spread evenly over all nine components still
make it visit many.
"""

from amaranth.hdl import Cat, Const, Mux, Signal, signed

from vtpu.isa import COORD_WIDTH, DIMS, LANE_WIDTH, LANES, VALUE_WIDTH, AttendMode, Op, Status

from .interposer import Interposer
from .layouts import coord_layout, pattern_layout
from .sentron.execute import pattern_bad

__all__ = ["TopKUnit", "K_MAX"]

# The top-k sorter's entries in a build unless it says otherwise.
K_MAX = 8


class TopKUnit(Interposer):
    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH, k_max=K_MAX,
                 ops=frozenset({Op.CATTEND, Op.CNEAREST}), **kwargs):
        """``ops``: which of CATTEND and CNEAREST the build carries (the other
        passes through, to be answered BAD_OPCODE)."""
        assert 1 <= k_max <= 255
        self.k_max = k_max
        self.ops = frozenset(ops) & {Op.CATTEND, Op.CNEAREST}
        assert self.ops, "a top-k unit for neither CATTEND nor CNEAREST"
        super().__init__(width, value_width, **kwargs)

    def claims(self, cmd):
        return Cat(*(cmd.op == op for op in sorted(self.ops))).any()

    def capture(self, m, cmd):
        # q in a register of its own: the scores' paths start here, not in
        # the decoder behind the units in front
        m.d.sync += [self.radius.eq(1), self.q.eq(cmd.coord)]
        # the checks of the held instruction, registered: from the decoder's
        # register through nine magnitude compares into the state machine was
        # 19 logic levels, the four-sentron ULX3S's slowest host path
        m.d.sync += self.bad_held.eq(self.bad)

    def _score(self, m, coord, value, query):
        """The record's score (signed), DOT or minus the L1 distance."""
        W = self.width
        # lanes past a narrow value (a small test build) are 0, as the model reads them
        pad = Const(0, max(0, LANES * LANE_WIDTH - self.value_width))
        value, query = Cat(value, pad), Cat(query, pad)
        lanes = [value[i * LANE_WIDTH:(i + 1) * LANE_WIDTH].as_signed() *
                 query[i * LANE_WIDTH:(i + 1) * LANE_WIDTH].as_signed() for i in range(LANES)]
        # LANES products of two signed lanes each
        dot = Signal(signed(2 * LANE_WIDTH + (LANES - 1).bit_length()))
        m.d.comb += dot.eq(sum(lanes))
        apart = [Mux(self.q[i] > coord[i], self.q[i] - coord[i], coord[i] - self.q[i])
                 for i in range(DIMS)]
        distance = Signal(W + 4)
        m.d.comb += distance.eq(sum(apart))
        score = Signal(signed(max(len(dot), W + 5)))
        m.d.comb += score.eq(Mux(self.dot, dot, -distance))
        return score

    def datapath(self, m):
        W, K = self.width, self.k_max
        # the instruction's fields, read where it waits (``Interposer``)
        cmd = self.i.payload
        self.q = Signal(coord_layout(W))
        self.pattern, self.k = cmd.pattern, cmd.arg[:8]
        self.nearest = nearest = cmd.op == Op.CNEAREST
        self.dot = ~nearest & (cmd.mode == AttendMode.DOT)   # scores need q's value
        mode_bad = (cmd.mode != AttendMode.DOT) & (cmd.mode != AttendMode.DISTANCE)
        self.bad = ((self.k == 0) | (self.k > self.k_max)
                    | (~nearest & (mode_bad | pattern_bad(cmd.pattern))))
        self.bad_held = Signal()
        self.query = query = Signal(self.value_width)
        # CNEAREST: how far (in every component) the box around q reaches
        top = (1 << W) - 1
        self.radius = Signal(range(top + 1))
        self.around = Signal(pattern_layout(W))
        for i in range(DIMS):
            q, r = self.q[i], self.radius
            m.d.comb += [self.around.lo[i].eq(Mux(q > r, q - r, 0)),
                         self.around.hi[i].eq(Mux(q + r > top, top, q + r))]

        # --- a record a clock: registered as it arrives, scored the next clock,
        # inserted the one after (scoring and inserting in one clock made the
        # host clock's longest path)
        staged = Signal()
        staged_coord = Signal(coord_layout(W))
        staged_value = Signal(self.value_width)
        staged_score = self._score(m, staged_coord, staged_value, query)
        scored = Signal()
        score = Signal.like(staged_score)
        scored_coord = Signal(coord_layout(W))
        scored_value = Signal(self.value_width)
        m.d.sync += [scored.eq(staged), score.eq(staged_score), scored_coord.eq(staged_coord),
                     scored_value.eq(staged_value)]
        valid = Signal(K)
        scores = [Signal(score.shape(), name=f"score{j}") for j in range(K)]
        coords = [Signal(coord_layout(W), name=f"coord{j}") for j in range(K)]
        values = [Signal(self.value_width, name=f"value{j}") for j in range(K)]
        # entries at least as good as the new one: a prefix of the sorted list
        keep = [Signal(name=f"keep{j}") for j in range(K)]
        m.d.comb += [keep[j].eq(valid[j] & (scores[j] >= score)) for j in range(K)]
        with m.If(scored):
            for j in range(K):
                here = Const(1) if j == 0 else keep[j - 1]   # the new entry's place
                with m.If(~keep[j]):
                    with m.If(here):
                        m.d.sync += [scores[j].eq(score), coords[j].eq(scored_coord),
                                     values[j].eq(scored_value), valid[j].eq(1)]
                    with m.Else():
                        m.d.sync += [scores[j].eq(scores[j - 1]), coords[j].eq(coords[j - 1]),
                                     values[j].eq(values[j - 1]), valid[j].eq(valid[j - 1])]
        m.d.sync += staged.eq(0)
        self.sorter = (staged, staged_coord, staged_value, scored, score, valid, scores, coords,
                       values)

    def work(self, m):
        W, K = self.width, self.k_max
        (staged, staged_coord, staged_value, scored, score, valid, scores, coords,
         values) = self.sorter
        query = self.query
        sent = Signal(range(K + 1))       # records answered
        with m.State("START"):
            m.d.sync += [valid.eq(0), sent.eq(0)]
            with m.If(self.bad_held):
                m.next = "BAD"
            with m.Elif(self.dot):
                m.next = "QUERY"
            with m.Else():
                m.next = "RANGE"
        with m.State("BAD"):
            self.finish(m, Status.BAD_ARG, aux=0)
        with m.State("QUERY"):
            self.send(m, op=Op.CGET, coord=self.q)
            with m.If(self.o.ready):
                m.next = "QUERY_WAIT"
        with m.State("QUERY_WAIT"):
            with m.If(self.receive(m)):
                m.d.sync += query.eq(self.answers.payload.value)
                with m.If(self.answers.payload.status != Status.OK):
                    m.next = "ABSENT"
                with m.Else():
                    m.next = "RANGE"
        with m.State("ABSENT"):
            self.finish(m, Status.NOT_FOUND, aux=0)

        def record(reply):
            m.d.sync += [staged.eq(1), staged_coord.eq(reply.coord), staged_value.eq(reply.value)]

        self.ask_range(m, Mux(self.nearest, self.around, self.pattern), record,
                       final=lambda reply: None, then="JUDGE")

        found = Signal()
        kth_distance = Signal(W + 5)
        with m.State("JUDGE"):
            # once the last records are scored and in: the k-th best, registered
            # (chosen by k from the decoder's register, it was 19 logic levels
            # into the radius)
            with m.If(~staged & ~scored):
                kth = (self.k - 1)[:max(1, (K - 1).bit_length())]
                m.d.sync += [found.eq(valid.bit_select(kth, 1)),
                             kth_distance.eq(
                                 -Cat(*scores).word_select(kth, len(score)).as_signed())]
                m.next = "DECIDE"
        with m.State("DECIDE"):
            # CNEAREST: the k nearest are found once the k-th best is no
            # farther (L1) than the box reaches (L-infinity) in every direction;
            # else search again, out to the k-th best's distance, or twice as
            # far while fewer than k keys were found.
            top = (1 << W) - 1
            with m.If(~self.nearest | (self.radius == top) | (found & (kth_distance <= self.radius))):
                m.next = "ANSWER"
            with m.Else():
                m.d.sync += valid.eq(0)
                with m.If(found):
                    m.d.sync += self.radius.eq(Mux(kth_distance > top, top, kth_distance))
                with m.Else():
                    wider = self.radius * 2 + 1
                    m.d.sync += self.radius.eq(Mux(wider > top, top, wider))
                m.next = "RANGE"
        with m.State("ANSWER"):
            with m.If(~self.own_valid):
                slot = sent[:max(1, (K - 1).bit_length())]
                with m.If((sent == self.k) | ~valid.bit_select(slot, 1)):
                    self.finish(m, Status.OK, aux=sent)
                with m.Else():
                    entry_score = Signal.like(score)
                    m.d.comb += entry_score.eq(Cat(*scores).word_select(slot, len(score)).as_signed())
                    entry_coord = Signal(coord_layout(W))
                    m.d.comb += entry_coord.eq(Cat(*coords).word_select(slot, DIMS * W))
                    entry_value = Signal(self.value_width)
                    m.d.comb += entry_value.eq(Cat(*values).word_select(slot, self.value_width))
                    with m.If(self.nearest):
                        self.respond(m, Status.OK, more=1, coord=entry_coord, value=entry_value,
                                     aux=-entry_score)
                    with m.Else():
                        self.respond(m, Status.OK, more=1, coord=entry_coord, aux=entry_score)
                    m.d.sync += sent.eq(sent + 1)
