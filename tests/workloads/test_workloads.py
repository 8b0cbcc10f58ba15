"""The four workloads: each runs on the model (and one on the RTL) with every
answer matching its reference; the references themselves are checked against
plain loops; a wrong answer is caught."""

import numpy as np
import pytest

from rtl.boards import BOARDS
from vtpu.workloads import attention, graph, moe, run_from_args, sync
from vtpu.workloads.common import Checks, at_boards, percentile


def clean(result):
    return {b: r["checks"]["mismatches"] for b, r in result["backends"].items()}


def test_attention_reference_matches_plain_loops():
    """The vectorised numpy reference against a loop over each query's keys."""
    rng = np.random.default_rng(7)
    q, k, v = (rng.integers(-128, 128, (1, 2, 40, 8), dtype=np.int8) for _ in range(3))
    # equal keys make tied scores: the lower position must come first
    k[0, 0, 10] = k[0, 0, 12]
    pos, scores, out = attention.reference(q, k, v, window=8, global_tokens=3, top_k=5)
    for h in range(2):
        for p in range(40):
            keys = sorted({j for j in range(min(3, p + 1))} | {j for j in range(max(3, p - 7), p + 1)})
            scored = sorted(((-int(np.dot(q[0, h, p].astype(int), k[0, h, j].astype(int))), j)
                             for j in keys))[:5]
            want_pos = [j for _, j in scored]
            assert [x for x in pos[0, h, p] if x >= 0] == want_pos
            s = np.array([-x for x, _ in scored], dtype=float) / np.sqrt(8)
            w = np.exp(s - s.max())
            w /= w.sum()
            want_out = sum(wi * v[0, h, j].astype(float) for wi, j in zip(w, want_pos))
            assert np.allclose(out[0, h, p], want_out)


def test_attention_on_the_model():
    result = attention.run(backends=("model",), log=lambda _: None)
    assert clean(result) == {"model": 0}
    assert result["backends"]["model"]["checks"]["compared"] == 2 * 2 * 2 * 128


def test_moe_on_the_model_and_the_rtl():
    """The RTL run counts the core's clocks and times each board."""
    result = moe.run(backends=("model", "verilator"), log=lambda _: None)
    assert clean(result) == {"model": 0, "verilator": 0}
    rtl = result["backends"]["verilator"]
    assert rtl["loads"] == result["backends"]["model"]["loads"]
    assert sum(rtl["loads"]) == 256 and rtl["experts_used"] == 16
    assert rtl["max_over_mean"] <= 1.6          # what random hashing gives at 16 a expert
    # every token crosses the core's byte stream at least once a phase
    assert all(clocks >= 256 * 10 for clocks in rtl["clocks"].values())
    # time on a board: the clocks at the clock its byte stream runs on (the
    # ULX3S's host clock); the iCEBreaker's 2,048 cuckoo entries hold the 768
    # keys stored
    ulx3s = rtl["boards"]["ulx3s-85f"]
    assert ulx3s["stream_mhz"] < 50
    assert ulx3s["core_s"] == pytest.approx(sum(rtl["clocks"].values()) / (ulx3s["stream_mhz"] * 1e6),
                                            rel=1e-3)
    assert rtl["boards"]["icebreaker"]["holds_keys"] is True
    assert result["verdict"] in {"holds", "holds for the core alone", "not reached"}


def test_moe_scatter_gather_against_a_loop():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (50, 8), dtype=np.int8)
    weights = rng.integers(-128, 128, (4, 8, 8), dtype=np.int8)
    route = rng.integers(0, 4, 50)
    got = moe.scatter_gather(x, route, 4, weights)
    for t in range(50):
        acc = [sum(int(weights[route[t]][i][j]) * int(x[t][j]) for j in range(8)) >> 7 for i in range(8)]
        assert got[t].tolist() == [max(-128, min(127, a)) for a in acc]


def test_graph_walks_agree_and_stop_at_a_missing_edge():
    g = graph.family(300, np.random.default_rng(1))
    edges = {(a, d["relation"]): b for a, b, d in g.edges(data=True)}
    for start in (1, 100, 300):
        for rels in ([1, 1, 1, 1], [2, 1, 2, 1]):
            assert graph.nx_walk(g, start, rels) == graph.dict_walk(edges, start, rels)
    assert graph.nx_walk(g, 1, [1, 2]) == []                # a founder has no parents
    assert len(graph.nx_walk(g, 300, [1, 1, 1, 1])) == 4    # the family runs deep


def test_graph_on_the_model(monkeypatch):
    monkeypatch.setattr(graph, "shape", lambda size: dict(
        people=2000, family_queries=300, lesmis_queries=200, checkpoints=[500, 2000]))
    result = graph.run(backends=("model",), log=lambda _: None)
    assert clean(result) == {"model": 0}
    hops = result["backends"]["model"]["checkpoints"][2000]
    assert hops["ckg"]["hops"] == hops["cdelta_cget"]["hops"] > 300


def test_a_wrong_answer_is_caught(monkeypatch):
    """One CKG answer corrupted on its way back: the run reports a mismatch."""
    real = graph.by_ckg

    def corrupt(dev, graph_id, queries):
        paths = real(dev, graph_id, queries)
        first = next(p for p in paths if p)
        first[-1] += 1
        return paths
    monkeypatch.setattr(graph, "by_ckg", corrupt)
    monkeypatch.setattr(graph, "shape", lambda size: dict(
        people=500, family_queries=50, lesmis_queries=50, checkpoints=[500]))
    result = graph.run(backends=("model",), log=lambda _: None)
    assert clean(result) == {"model": 2}        # once in Les Miserables, once in the family


def test_sync_on_the_model_against_etcd(monkeypatch):
    monkeypatch.setattr(sync, "shape", lambda size: dict(
        agents=9, keys_per_agent=16, divergence=[0, 5, 40], latency_writes=30))
    result = sync.run(backends=("model",), log=lambda _: None)
    assert clean(result) == {"model": 0}
    rounds = result["backends"]["model"]["rounds"]
    assert rounds[0]["moved"] == 0 and rounds[-1]["moved"] == rounds[-1]["differing"] > 0
    etcd = result["baseline"]
    assert etcd["writes"] == 30 and 0 < etcd["p50_s"] <= etcd["p99_s"]
    assert etcd["peer_bytes"] > 0          # Raft replicated the writes to the other members


def test_reconcile_moves_only_what_differs():
    from vtpu import VTPU
    nodes = [VTPU(entries=1024), VTPU(entries=1024)]
    for n in nodes:
        for k in range(40):
            n.cput(sync.key(2, k), k)
    nodes[0].cput(sync.key(2, 7), "changed")      # agent 2 lives on node X
    nodes[0].cdel(sync.key(2, 9))
    nodes[1].cput(sync.key(7, 3), 5)              # agent 7 on node Y
    assert sync.reconcile(nodes, range(1, 10)) == 3
    assert nodes[1].cget(sync.key(2, 7)) == "changed" and nodes[0].cget(sync.key(7, 3)) == 5
    assert nodes[0].cdigest("*.*.*/*.*.*/*.*.*") == nodes[1].cdigest("*.*.*/*.*.*/*.*.*")


def test_helpers():
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2], 99) == 2
    boards = at_boards(1000, 300, 100, set())
    assert boards["icebreaker"]["link_s"] == pytest.approx(300 * 10 / 3e6)     # full duplex
    one = at_boards(1000, 300, 100, set(), keys=3500, round_trip=True)["icebreaker"]
    assert one["link_s"] == pytest.approx(400 * 10 / 3e6)      # the answer follows the request
    assert one["core_s"] == pytest.approx(1000 / BOARDS["icebreaker"].clk_hz, rel=1e-3)
    assert one["holds_keys"] is False
    # its cuckoo memory stores 78% of its 4,096 entries before it refuses a
    # random key; the pipelined ULX3S's set-associative table refuses them
    # long before its 8,192
    assert at_boards(1000, 300, 100, set(), keys=3100)["icebreaker"]["holds_keys"] is True
    for name in ("ulx3s-85f", "ulx3s-85f-pipelined"):
        stores, entries = boards[name]["stores"], BOARDS[name].entries
        assert stores > 0.95 * entries if BOARDS[name].memory else stores < 0.05 * entries
    c = Checks()
    c.check(True, "x")
    c.check(False, lambda: "wrong")
    assert c.report() == {"compared": 2, "mismatches": 1, "first_mismatches": ["wrong"]}


def test_bad_arguments_are_refused():
    class Refused(Exception):
        pass

    def error(message):
        raise Refused(message)
    import argparse
    from vtpu.workloads.common import add_arguments
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for argv, words in ((["nosuch"], "nosuch"), (["--backends", "fpga"], "fpga"),
                        (["--size", "0"], "--size"), (["--backends", ","], "at least one")):
        with pytest.raises(Refused, match=words):
            run_from_args(parser.parse_args(argv), error)
