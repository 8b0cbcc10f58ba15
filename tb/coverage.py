"""Functional coverage: opcode x status, table occupancy, CRANGE result sizes,
the records a CKG walk answers (0, 1, several),
range answers merged from several sentrons, and (at one instruction a clock)
the hazards the sentrons' forwarding exists for.

The reachable bins are derived from the golden model's semantics and the set
of opcodes the gateware implements; a reachable bin left empty fails the run.
"""

import json
from collections import Counter
from pathlib import Path

from vtpu.isa import Op, Status

__all__ = ["Coverage", "reachable_statuses"]

S = Status
# What each instruction can answer when it arrives in a well-formed frame.
# (BAD_FRAME belongs to no opcode: it has its own bin. CPUT's BAD_ARG needs a
# value wider than its frame field, so frames cannot reach it.)
STATUSES = {
    Op.CGET: {S.OK, S.NOT_FOUND},
    Op.CPUT: {S.OK, S.TABLE_FULL},
    Op.CDEL: {S.OK, S.NOT_FOUND},
    Op.CRANGE: {S.OK, S.BAD_ARG},
    Op.CDELTA: {S.OK, S.OVERFLOW},
    Op.CNEAREST: {S.OK, S.BAD_ARG},
    Op.CHIER: {S.OK, S.BAD_ARG},
    Op.CROUTE: {S.OK, S.NOT_FOUND, S.BAD_ARG},
    Op.CATTEND: {S.OK, S.NOT_FOUND, S.BAD_ARG},
    Op.CMOE: {S.OK, S.BAD_ARG},
    Op.CKG: {S.OK, S.NOT_FOUND, S.OVERFLOW, S.BAD_ARG},
    Op.CDIGEST: {S.OK, S.BAD_ARG},
    Op.CRTSET: {S.OK, S.BAD_ARG},
}

OCCUPANCY = ("empty", "1-50%", "51-99%", "full")
RESULT_SIZES = ("0", "1", "2-7", "8+")
WALK_SIZES = ("0", "1", "2+")
RANKINGS = ("k_max", "tie")
# A point instruction whose key (or another key of its set) a CPUT or CDEL
# wrote this many instructions ahead of it: the writes a row misses in flight.
HAZARDS = tuple(f"{kind}/{d}" for kind in ("same_key", "same_set") for d in range(1, 5))


def reachable_statuses(op, implemented):
    if op not in implemented:
        return {S.BAD_OPCODE}
    if op == Op.CHIER and Op.CRANGE not in implemented:
        return STATUSES[op] | {S.BAD_OPCODE}        # DOWN is CRANGE
    return STATUSES[op]


def occupancy_bin(used, capacity):
    if used == 0:
        return "empty"
    if used == capacity:
        return "full"
    return "1-50%" if used * 2 <= capacity else "51-99%"


def size_bin(n):
    return "0" if n == 0 else "1" if n == 1 else "2-7" if n < 8 else "8+"


# The cuckoo memory's events: an insert that moved slots, TABLE_FULL with no
# free entry and with no cuckoo path, an insert that took a freed entry id.
MEMORY_EVENTS = ("relocated", "refused_full", "refused_no_path", "reused_id")


class Coverage:
    """``frame_errors``: the stream comes through the frame decoder (its error
    bins are reachable); ``hazards``: instructions a clock apart (the hazard
    bins are); ``sentrons``: more than one, range answers merge their records;
    ``occupancy``: the stream empties and fills the table (directed programs);
    ``memory``: the cuckoo memory's events (relocations, both kinds of
    TABLE_FULL, a freed entry id taken again)."""

    def __init__(self, implemented, *, frame_errors=True, hazards=False, sentrons=1,
                 occupancy=True, memory=False, k_max=None):
        self.memory_reachable = memory
        self.k_max = k_max            # the top-k unit's entries (None: no bin for k_max records)
        self.memory = Counter()
        self.implemented = frozenset(implemented)
        self.frame_errors_reachable, self.hazards_reachable = frame_errors, hazards
        self.occupancy_reachable = occupancy
        self.sentrons = sentrons
        self.hazards = Counter()
        self.merges = Counter()
        self.op_status = Counter()
        self.occupancy = Counter()
        self.result_sizes = Counter()
        self.walks = Counter()
        self.rankings = Counter()
        self.frame_errors = Counter()
        self.merged = Counter()       # hits read back from other runs (``merge``)

    @classmethod
    def merge(cls, implemented, paths, **reachable):
        """One coverage from the ``write`` files of several runs (parallel jobs)."""
        total = cls(implemented, **reachable)
        for path in paths:
            total.merged.update(json.loads(Path(path).read_text())["hits"])
        return total

    def bins(self):
        """Every reachable bin name."""
        names = [f"{op.name}/{s.name}" for op in Op for s in sorted(reachable_statuses(op, self.implemented))]
        if self.frame_errors_reachable:
            names += ["frame/BAD_FRAME", "frame/BAD_OPCODE"]
        if self.occupancy_reachable:
            names += [f"occupancy/{b}" for b in OCCUPANCY]
        if Op.CKG in self.implemented:
            # records answered: walks that end at once, after one hop, after several
            names += [f"ckg_records/{b}" for b in WALK_SIZES]
        for op in (Op.CATTEND, Op.CNEAREST):
            if op in self.implemented:
                # answers of k_max records, and with tied scores (distances)
                names += [f"ranking/{op.name}/{b}" for b in RANKINGS
                          if b != "k_max" or self.k_max is not None]
        if Op.CRANGE in self.implemented:
            names += [f"crange_results/{b}" for b in RESULT_SIZES]
            if self.sentrons > 1:
                names += ["range_merge/one_sentron", "range_merge/several_sentrons"]
        if self.hazards_reachable:
            names += [f"hazard/{h}" for h in HAZARDS]
        if self.memory_reachable:
            names += [f"memory/{e}" for e in MEMORY_EVENTS]
        return names

    def hits(self):
        out = Counter(self.merged)
        for (op, status), n in self.op_status.items():
            out[f"{op}/{status}"] += n
        for b, n in self.occupancy.items():
            out[f"occupancy/{b}"] += n
        for b, n in self.result_sizes.items():
            out[f"crange_results/{b}"] += n
        for b, n in self.walks.items():
            out[f"ckg_records/{b}"] += n
        for b, n in self.rankings.items():
            out[f"ranking/{b}"] += n
        for b, n in self.frame_errors.items():
            out[f"frame/{b}"] += n
        for b, n in self.hazards.items():
            out[f"hazard/{b}"] += n
        for b, n in self.merges.items():
            out[f"range_merge/{b}"] += n
        for b, n in self.memory.items():
            out[f"memory/{b}"] += n
        return out

    def sample_memory(self, event):
        """One of ``MEMORY_EVENTS`` happened in the cuckoo memory."""
        self.memory[event] += 1

    def sample_ranking(self, op, records, tied):
        """A CATTEND or CNEAREST answer of ``records`` records, two neighbours
        of which ranked equal (``tied``)."""
        if records == self.k_max:
            self.rankings[f"{op.name}/k_max"] += 1
        if tied:
            self.rankings[f"{op.name}/tie"] += 1

    def sample_hazard(self, kind, distance):
        """A point instruction ``distance`` behind a write to its key or set."""
        self.hazards[f"{kind}/{distance}"] += 1

    def sample_merge(self, sentrons_answering):
        """A range answer with records (CRANGE, CHIER DOWN) from this many sentrons."""
        if self.sentrons > 1 and sentrons_answering:
            self.merges["one_sentron" if sentrons_answering == 1 else "several_sentrons"] += 1

    def sample(self, op, final_status, records, used, capacity):
        """One answered instruction (op None: a frame error not tied to an opcode)."""
        if op is None:
            self.frame_errors[final_status.name] += 1
        else:
            self.op_status[(Op(op).name, final_status.name)] += 1
            if op == Op.CRANGE and final_status == Status.OK:
                self.result_sizes[size_bin(records)] += 1
            if op == Op.CKG and op in self.implemented:     # (else BAD_OPCODE: no walk)
                self.walks[WALK_SIZES[min(records, 2)]] += 1
        if self.occupancy_reachable:
            self.occupancy[occupancy_bin(used, capacity)] += 1

    def missing(self):
        hits = self.hits()
        return [b for b in self.bins() if not hits[b]]

    def summary(self):
        hits = self.hits()
        total = self.bins()
        return sum(1 for b in total if hits[b]), len(total)

    def report(self):
        hits = self.hits()
        lines = []
        for name in self.bins():
            lines.append(f"  {name:28} {hits[name]:>8}")
        unexpected = [b for b in hits if b not in self.bins()]
        for name in unexpected:
            lines.append(f"  {name:28} {hits[name]:>8}  (not a reachable bin!)")
        return "\n".join(lines)

    def unexpected(self):
        return [b for b in self.hits() if b not in self.bins()]

    def write(self, path, extra=None):
        hit, total = self.summary()
        data = {"bins": {b: self.hits()[b] for b in self.bins()}, "hits": dict(self.hits()),
                "hit": hit, "total": total,
                "missing": self.missing(), "unexpected": self.unexpected(), **(extra or {})}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
