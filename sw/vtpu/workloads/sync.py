"""Workload D: agents syncing shared memory.

Nine agents each own a range, agent ``a`` the coordinates ``a.*.*/*.*.*/*.*.*``
(its keys at ``a.hi.lo/1.0.0/0.0.0``), and write only there, on their home
node: agents 1-5 on node X, 6-9 on node Y. No write waits for the other node
(no coordination). Now and then the nodes reconcile: per agent, the home
node's range is the truth; the two nodes compare CDIGESTs of a box, descend
into the halves of a box whose digests differ, and below ``LEAF`` keys
CRANGE the box on both and move only the records that differ (a CPUT, or a
CDEL of a key the home node no longer has). Contents are ints and text
scrolls (content-addressed, so equal texts digest equally on both nodes).

Checks: after each reconcile both nodes hold exactly what the agents wrote
(a plain dict kept apart), their CDIGESTs of everything agree, and the
records moved are exactly the ones that differed. Baseline: the same writes
to a three-member etcd cluster (real Raft) on loopback: write latency p50 and
p99 and the bytes its members sent each other.
"""

import time

import numpy as np

from ..isa import Op
from .common import BACKENDS, BOARD, Checks, Meter, at_boards, left_out, open_device, percentile
from .etcd import EtcdCluster

CLAIM = "no coordination; 1,800,000x Raft's write latency"
INSTRUCTIONS = frozenset({Op.CPUT, Op.CDEL, Op.CDIGEST, Op.CRANGE})
AGENTS = 9
SIDE = 32             # an agent's keys: SIDE x SIDE (components 1 and 2)
LEAF = 8              # keys in a box below which the nodes compare records
EVERYTHING = "*.*.*/*.*.*/*.*.*"


def shape(size):
    if 64 * size > SIDE * SIDE // 2:
        raise ValueError(f"sync: --size {size}: at most {SIDE * SIDE // 128} "
                         f"(an agent's range holds {SIDE * SIDE} keys)")
    return dict(agents=AGENTS, keys_per_agent=64 * size,
                divergence=[0, 8 * size, 32 * size, 128 * size, 512 * size],
                latency_writes=200)


def home(agent):
    return 0 if agent <= 5 else 1


def key(agent, k):
    return (agent, k // SIDE, k % SIDE, 1, 0, 0, 0, 0, 0)


def box_pattern(agent, box):
    (a, b), (c, d) = box
    return f"{agent}.[{a}:{b}].[{c}:{d}]/*.*.*/*.*.*"


def halves(box):
    """Split a box in two along its first component wider than one value."""
    (a, b), (c, d) = box
    if a < b:
        m = (a + b) // 2
        return [((a, m), (c, d)), ((m + 1, b), (c, d))]
    m = (c + d) // 2
    return [((a, b), (c, m)), ((a, b), (m + 1, d))]


def reconcile(nodes, agents):
    """Bring every agent's range on the other node to what its home node holds,
    by digest bisection, level by level (one batch a node a level). Returns
    the records moved."""
    todo = [(a, ((0, SIDE - 1), (0, SIDE - 1))) for a in agents]
    moved = 0
    while todo:
        digests = []
        for side in (0, 1):
            with nodes[side].batch():
                digests.append([nodes[side].cdigest(box_pattern(a, box)) for a, box in todo])
        differ = [(a, box, max(x.result()[0], y.result()[0]))
                  for (a, box), x, y in zip(todo, *digests) if x.result() != y.result()]
        leaves = [(a, box) for a, box, count in differ
                  if count <= LEAF or box[0][0] == box[0][1] and box[1][0] == box[1][1]]
        split = set(leaves)
        todo = [(a, h) for a, box, count in differ if (a, box) not in split for h in halves(box)]
        ranges = []
        for side in (0, 1):
            with nodes[side].batch():
                ranges.append([nodes[side].crange(box_pattern(a, box)) for a, box in leaves])
        writes = []
        for side in (0, 1):       # one batch of writes to each node
            with nodes[side].batch():
                for (a, box), r0, r1 in zip(leaves, *ranges):
                    if home(a) == side:
                        continue
                    src = dict((r0 if home(a) == 0 else r1).result())
                    dst = dict((r1 if home(a) == 0 else r0).result())
                    for c, content in src.items():
                        if c not in dst or dst[c] != content:
                            writes.append(nodes[side].cput(c, content))
                    writes += [nodes[side].cdel(c) for c in dst.keys() - src.keys()]
        for pending in writes:
            pending.result()      # raises if a node refused one: only records moved count
        moved += len(writes)
    return moved


def content(rng, agent, k, version):
    if rng.random() < 0.5:
        return int(rng.integers(0, 1 << 40))
    return f"agent {agent} note {k} v{version}"


def run(size=1, backends=BACKENDS, seed=4, log=print):
    p_shape = shape(size)
    rng = np.random.default_rng(seed)
    per_agent = p_shape["keys_per_agent"]
    # The same writes on every backend: (agent, key, content or None for a delete) per round.
    base = [(a, int(k), content(rng, a, int(k), 0)) for a in range(1, AGENTS + 1)
            for k in rng.choice(SIDE * SIDE, per_agent, replace=False)]
    rounds = []
    for version, writes in enumerate(p_shape["divergence"], start=1):
        batch = []
        for _ in range(writes):
            a, k = int(rng.integers(1, AGENTS + 1)), int(rng.integers(0, SIDE * SIDE))
            batch.append((a, k, None if rng.random() < 0.1 else content(rng, a, k, version)))
        rounds.append(batch)
    result = {"workload": "sync", "claim": CLAIM, "parameters": p_shape, "backends": {}}
    for backend in backends:
        log(f"sync: {backend}: two nodes, {AGENTS} agents of {per_agent} keys, "
            f"rounds of {p_shape['divergence']} local writes, each followed by a reconcile")
        checks = Checks()
        nodes = [open_device(backend, entries=2048 * size) for _ in (0, 1)]
        try:
            truth = {}                     # what every agent wrote last: coordinate -> content
            replica = [{}, {}]             # what each node holds, kept apart from the devices
            for side in (0, 1):
                with nodes[side].batch():
                    stored = [nodes[side].cput(key(a, k), c) for a, k, c in base]
                for pending in stored:
                    pending.result()              # raises if the device refused one
                replica[side].update((key(a, k), c) for a, k, c in base)
            truth.update(replica[0])
            points = []
            for writes in rounds:
                for side in (0, 1):
                    with nodes[side].batch():
                        done = []
                        for a, k, c in writes:
                            if home(a) != side:
                                continue
                            if c is None:
                                if key(a, k) in truth:
                                    done.append(nodes[side].cdel(key(a, k)))
                                    del truth[key(a, k)], replica[side][key(a, k)]
                            else:
                                done.append(nodes[side].cput(key(a, k), c))
                                truth[key(a, k)] = replica[side][key(a, k)] = c
                    for pending in done:
                        pending.result()          # raises if the device refused one
                differing = sum(replica[0].get(c) != replica[1].get(c)
                                for c in replica[0].keys() | replica[1].keys())
                with Meter(nodes[0]) as m0, Meter(nodes[1]) as m1:
                    moved = reconcile(nodes, range(1, AGENTS + 1))
                replica = [dict(truth), dict(truth)]
                checks.check(moved == differing,
                             lambda: f"{len(writes)} writes: moved {moved} records, {differing} differed")
                dumps = [{nodes[side].coord(c): v for c, v in nodes[side].crange(EVERYTHING)}
                         for side in (0, 1)]
                for side in (0, 1):
                    checks.check(dumps[side] == truth,
                                 lambda: f"node {'XY'[side]} after {len(writes)} writes: "
                                         f"{len(dumps[side].items() ^ truth.items())} records differ "
                                         f"from what the agents wrote")
                checks.check(nodes[0].cdigest(EVERYTHING) == nodes[1].cdigest(EVERYTHING),
                             f"digests differ after {len(writes)} writes")
                point = {"writes": len(writes), "differing": differing, "moved": moved,
                         "bytes": m0.sent + m0.received + m1.sent + m1.received,
                         "seconds": max(m0.seconds, m1.seconds)}
                if m0.clocks is not None:
                    point["clocks"] = m0.clocks + m1.clocks
                points.append(point)
            run_result = {"checks": checks.report(), "rounds": points,
                          "boards": at_boards(0, 0, 0, INSTRUCTIONS, keys=len(truth)),
                          "full_copy_bytes": full_copy_bytes(nodes[0]), "stored": len(truth)}
            if getattr(nodes[0].backend, "clocks", None) is not None:
                run_result["write"] = write_latency(nodes[0], p_shape["latency_writes"])
            result["backends"][backend] = run_result
        finally:
            for node in nodes:
                node.close()
    log("sync: etcd: three members on loopback")
    result["baseline"] = etcd_baseline([w for r in rounds for w in r if w[2] is not None]
                                       [:p_shape["latency_writes"]])
    return conclude(result)


def full_copy_bytes(node):
    """What copying everything to an empty node moves instead: a CRANGE of
    everything out of ``node`` and a CPUT of each record into a fresh one
    (the bytes do not depend on the backend: the model takes the writes)."""
    with Meter(node) as read:
        records = node.crange(EVERYTHING)
    fresh = open_device("model", entries=node.backend.capacity)
    with Meter(fresh) as write, fresh.batch():
        for c, content in records:
            fresh.cput(c, content)
    fresh.close()
    return read.sent + read.received + write.sent + write.received


def write_latency(node, count):
    """One CPUT at a time: the core's clocks from its first byte in to its
    answer's last byte out, and the bytes each way."""
    clocks, sent, received = [], 0, 0
    for i in range(count):
        with Meter(node) as m:
            node.cput(key(1, i % (SIDE * SIDE)), i)
        clocks.append(m.clocks)
        sent, received = m.sent, m.received
    return {"clocks_p50": percentile(clocks, 50), "clocks_p99": percentile(clocks, 99),
            "bytes": [sent, received],
            "boards": at_boards(percentile(clocks, 50), sent, received, {Op.CPUT}, round_trip=True)}


def etcd_baseline(writes):
    """etcd's write latency and peer traffic for ``writes``, or why it could not run."""
    try:
        return measure_etcd(writes)
    except (RuntimeError, OSError, SystemExit) as exc:
        return {"unavailable": str(exc)}


def measure_etcd(writes):
    with EtcdCluster() as etcd:
        before = etcd.peer_bytes()
        latencies = []
        for a, k, c in writes:
            start = time.perf_counter()
            etcd.put(f"/agent/{a}/{k}", str(c))
            latencies.append(time.perf_counter() - start)
        peer = etcd.peer_bytes() - before
    return {"members": 3, "writes": len(writes), "p50_s": percentile(latencies, 50),
            "p99_s": percentile(latencies, 99), "peer_bytes": peer,
            "peer_bytes_per_write": peer / len(writes)}


def conclude(result):
    rtl = result["backends"].get("verilator")
    etcd = result["baseline"]
    if rtl and "unavailable" in etcd:
        result["measured"] = f"no etcd baseline: {etcd['unavailable']}"
        result["verdict"] = "not measured"
    elif rtl:
        board = rtl["write"]["boards"][BOARD]
        core = etcd["p50_s"] / board["core_s"]
        link = etcd["p50_s"] / (board["core_s"] + board["link_s"])
        last = rtl["rounds"][-1]
        result["measured"] = (
            f"no coordination by design (writes local; nodes converge by digest bisection, "
            f"{last['bytes'] / max(1, last['moved']):.0f} bytes a record moved at "
            f"{last['writes']} writes); a write {rtl['write']['clocks_p50']} clocks = "
            f"{core:,.0f}x below etcd's p50 {etcd['p50_s'] * 1e3:.2f} ms at the {BOARD}'s "
            f"{board['stream_mhz']} MHz stream clock, {link:,.0f}x with its UART's wire time "
            f"(no USB latency){left_out(rtl['boards'])}")
        result["verdict"] = ("holds" if core >= 1.8e6 else
                             f"no coordination holds; {core:,.0f}x, not 1,800,000x")
        result["curves"] = [{
            "title": "Agent sync: bytes to reconcile against divergence",
            "x": "local writes since the last reconcile", "y": "bytes (both nodes, both ways)",
            "series": {"vTPU digest bisection": [(p["writes"], p["bytes"]) for p in rtl["rounds"]],
                       "etcd peer traffic for the same writes": [
                           (p["writes"], p["writes"] * etcd["peer_bytes_per_write"])
                           for p in rtl["rounds"]],
                       "a full copy (CRANGE of everything, a CPUT each)": [
                           (p["writes"], rtl["full_copy_bytes"]) for p in rtl["rounds"]]}}]
    else:
        result["measured"], result["verdict"] = "no RTL run", "not measured"
    return result
