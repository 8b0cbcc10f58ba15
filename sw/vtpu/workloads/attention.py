"""Workload A: sparse attention, sliding window plus global tokens.

Each layer and head keeps int8x8 query, key and value vectors at
``layer.head.pos / qkv.0.0 / 0.0.0`` (qkv: 1 query, 2 key, 3 value). Query
``p`` attends to the global tokens ``0 .. G-1`` and to the causal window
``p-W+1 .. p``: two boxes, so two CATTENDs (DOT, top k each) and two CRANGEs
of the values. The host merges the two top-k lists (score, then position:
the keys differ only in ``pos``, so that is their Z-order), takes a softmax
over the k best scores and sums the values. The reference is the same sparse
attention in numpy by gather (every key of the query's set scored), written
apart from the client; it is also the baseline.
"""

import numpy as np

from ..isa import Op
from .common import (BACKENDS, BOARD, Checks, Meter, at_boards, best_of, left_out, open_device,
                     speedup)

CLAIM = "~10x a GPU's gather for sparse windows"
INSTRUCTIONS = frozenset({Op.CPUT, Op.CATTEND, Op.CRANGE})
QUERY, KEY, VALUE = 1, 2, 3
LANES = 8


def shape(size):
    return dict(layers=2, heads=2, positions=128 * size, window=16, global_tokens=4, top_k=8)


def coord(l, h, p, kind):
    return (l + 1, h + 1, p, kind, 0, 0, 0, 0, 0)


def boxes(p, window, global_tokens):
    """The query's key positions as inclusive (lo, hi) boxes: globals, window."""
    out = [(0, min(global_tokens - 1, p))]
    if p >= global_tokens:
        out.append((max(global_tokens, p - window + 1), p))
    return out


def box_pattern(l, h, kind, lo, hi):
    return f"{l + 1}.{h + 1}.[{lo}:{hi}]/{kind}.0.0/0.0.0"


def softmax_sum(scores, values):
    """The attention output: softmax over the (integer) scores, scaled by
    sqrt(lanes), weighting the value vectors."""
    s = np.asarray(scores, dtype=np.float64) / np.sqrt(LANES)
    w = np.exp(s - s.max())
    return (w / w.sum()) @ np.asarray(values, dtype=np.float64)


def key_index(positions, window, global_tokens):
    """Each query's key positions, padded with -1 to the widest set."""
    index = np.full((positions, global_tokens + window), -1)
    for p in range(positions):
        keys = [j for lo, hi in boxes(p, window, global_tokens) for j in range(lo, hi + 1)]
        index[p, :len(keys)] = keys
    return index


def select(q, k, v, index, top_k):
    """What CATTEND and CRANGE answer, in numpy by gather (the baseline):
    each query's top_k key positions (best score first, then the lower
    position; -1 where a query has fewer keys), their scores, and their values."""
    layers, heads, positions, _ = q.shape
    pad = index < 0
    gathered = k[:, :, np.where(pad, 0, index)].astype(np.int64)       # l h p m lanes
    scores = np.einsum("lhpd,lhpmd->lhpm", q.astype(np.int64), gathered)
    order_key = np.where(pad, np.iinfo(np.int64).max, -scores * (positions + 1) + index)
    order = np.argsort(order_key, axis=-1, kind="stable")[..., :top_k]
    chosen = np.take_along_axis(np.broadcast_to(index, scores.shape), order, -1)
    valid = chosen >= 0
    values = v[np.arange(layers)[:, None, None, None], np.arange(heads)[None, :, None, None],
               np.where(valid, chosen, 0)]
    return np.where(valid, chosen, -1), np.take_along_axis(scores, order, -1), values


def combine(chosen, scores, values):
    """The attention outputs from a selection: softmax over the scores (scaled
    by sqrt(lanes)) weighting the values; padding weighs nothing."""
    valid = chosen >= 0
    s = np.where(valid, scores / np.sqrt(LANES), -np.inf)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    return np.einsum("lhpm,lhpmd->lhpd", w, values.astype(np.float64))


def reference(q, k, v, window, global_tokens, top_k):
    """numpy: (selected positions, their scores, outputs) per query."""
    chosen, scores, values = select(q, k, v, key_index(q.shape[2], window, global_tokens), top_k)
    return chosen, scores, combine(chosen, scores, values)


def pos_of(text):
    return int(text.split("/")[0].split(".")[2])


def attend_all(dev, p_shape, queries):
    """Issue every query's CATTENDs and value CRANGEs in one batch."""
    pending = {}
    with dev.batch():
        for l, h, p in queries:
            bx = boxes(p, p_shape["window"], p_shape["global_tokens"])
            pending[l, h, p] = (
                [dev.cattend(coord(l, h, p, QUERY), box_pattern(l, h, KEY, lo, hi), p_shape["top_k"])
                 for lo, hi in bx],
                [dev.crange(box_pattern(l, h, VALUE, lo, hi)) for lo, hi in bx])
    return pending


def run(size=1, backends=BACKENDS, seed=1, log=print):
    p_shape = shape(size)
    L, H, P = p_shape["layers"], p_shape["heads"], p_shape["positions"]
    W, G, K = p_shape["window"], p_shape["global_tokens"], p_shape["top_k"]
    rng = np.random.default_rng(seed)
    q, k, v = (rng.integers(-128, 128, (L, H, P, LANES), dtype=np.int8) for _ in range(3))
    # The baseline is what the device does: score, rank, fetch the values.
    index = key_index(P, W, G)
    baseline_s, _ = best_of(5, lambda: select(q, k, v, index, K))
    ref_pos, ref_scores, ref_out = reference(q, k, v, W, G, K)
    queries = [(l, h, p) for l in range(L) for h in range(H) for p in range(P)]
    result = {"workload": "attention", "claim": CLAIM, "parameters": p_shape,
              "baseline": {"numpy_gather_s": baseline_s, "queries": len(queries)}, "backends": {}}
    for backend in backends:
        log(f"attention: {backend}: {L} layers x {H} heads x {P} positions, window {W}, "
            f"{G} global tokens, top {K}")
        checks = Checks()
        with open_device(backend, entries=4096 * size) as dev:
            with Meter(dev) as store, dev.batch():
                stored = [dev.cput(coord(l, h, p, kind), t[l, h, p])
                          for l in range(L) for h in range(H) for p in range(P)
                          for kind, t in ((QUERY, q), (KEY, k), (VALUE, v))]
            for pending in stored:
                pending.result()                  # raises if the device refused one
            with Meter(dev) as attend:
                pending = attend_all(dev, p_shape, queries)
                answers = {key: ([r for a in att for r in a.result()],
                                 {pos_of(c): val for r in rng_ for c, val in r.result()})
                           for key, (att, rng_) in pending.items()}
            for (l, h, p), (scored, values) in answers.items():
                best = sorted(((s, pos_of(c)) for c, s in scored), key=lambda t: (-t[0], t[1]))[:K]
                want = [int(x) for x in ref_pos[l, h, p] if x >= 0]
                checks.check([pos for _, pos in best] == want and
                             [s for s, _ in best] == [int(x) for x in ref_scores[l, h, p][:len(want)]],
                             lambda: f"query {l}.{h}.{p}: top {best} against {want}")
                out = softmax_sum([s for s, _ in best], [values[pos] for _, pos in best])
                checks.check(np.allclose(out, ref_out[l, h, p], rtol=1e-9, atol=1e-9),
                             lambda: f"query {l}.{h}.{p}: output {out} against {ref_out[l, h, p]}")
            run_result = {"checks": checks.report(), "store_s": store.seconds,
                          "attend_s": attend.seconds, "attend_bytes": [attend.sent, attend.received],
                          "attend_clocks": attend.clocks}
            if attend.clocks is not None:
                run_result["clocks_per_query"] = attend.clocks / len(queries)
                run_result["boards"] = at_boards(attend.clocks, attend.sent, attend.received,
                                                 INSTRUCTIONS, keys=len(stored))
                run_result["window_sweep"] = window_sweep(dev, q, k, p_shape, rng, checks)
                run_result["checks"] = checks.report()
            result["backends"][backend] = run_result
    return conclude(result)


def window_sweep(dev, q, k, p_shape, rng, checks, sample=32):
    """Clocks a query's CATTEND over its window takes, against the window
    (``sample`` queries in one batch each); each answer checked against numpy."""
    G, P, K = p_shape["global_tokens"], p_shape["positions"], p_shape["top_k"]
    points = []
    for window in (8, 16, 32, 64):
        if G + window > P:
            break
        picks = [(0, 0, int(p)) for p in rng.integers(G + window, P, sample)]
        with Meter(dev) as m, dev.batch():
            pending = [dev.cattend(coord(l, h, p, QUERY), box_pattern(l, h, KEY, p - window + 1, p), K)
                       for l, h, p in picks]
        for (l, h, p), answer in zip(picks, pending):
            scores = k[l, h, p - window + 1:p + 1].astype(np.int64) @ q[l, h, p].astype(np.int64)
            want = [(int(scores[j]), p - window + 1 + j)
                    for j in np.argsort(-scores, kind="stable")[:K]]
            got = [(s, pos_of(c)) for c, s in answer.result()]
            checks.check(got == want, lambda: f"window {window}, query {p}: {got} against {want}")
        points.append({"window": window, "clocks_per_query": m.clocks / sample})
    return points


def conclude(result):
    rtl = result["backends"].get("verilator")
    if rtl and "boards" in rtl:
        board = rtl["boards"][BOARD]
        core, link = speedup(result["baseline"]["numpy_gather_s"], board)
        result["measured"] = (f"{core:.2g}x numpy's gather on this CPU ({rtl['clocks_per_query']:.0f} "
                              f"clocks a query at the {BOARD}'s {board['stream_mhz']} MHz stream "
                              f"clock); {link:.2g}x through its {board['baud'] / 1e6:g} Mbaud link"
                              + left_out(rtl["boards"]))
        result["verdict"] = ("holds against numpy (no GPU here)" if link >= 10 else
                             "holds for the core alone; the link makes it " + f"{link:.2g}x"
                             if core >= 10 else "not reached")
        result["curves"] = [{
            "title": "Sparse attention: a query's CATTEND against its window",
            "x": "window (keys)", "y": "clocks a query",
            "series": {"RTL (Verilator)": [(p["window"], p["clocks_per_query"])
                                           for p in rtl["window_sweep"]]}}]
    else:
        result["measured"], result["verdict"] = "no RTL run", "not measured"
    return result
