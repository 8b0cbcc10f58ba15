"""Workload C: knowledge-graph hops.

Two graphs on one device:

* Les Miserables' co-occurrence graph as networkx ships it (77 characters,
  254 edges): character ``n`` (numbered 1.. in name order) keeps its j-th
  neighbour (in number order) at ``2.n.1/(j+1).0.0/0.0.0``;
* a generated family of ``10,000 x size`` people: person ``i`` keeps the
  number of its father at ``1.i.1/1.0.0/0.0.0`` and of its mother at
  ``1.i.1/2.0.0/0.0.0`` (the first 5%, founders, have neither).

A 4-hop query is a start and four relations. CKG walks it in one
instruction (each hop's value becomes the entity component, ``1``, of the
next node); the same walk also runs as a CDELTA and a CGET per hop. Both are
checked against networkx (the graph as a networkx DiGraph, walked through its
own edge attributes) and timed beside networkx and a plain dict.
"""

import networkx as nx
import numpy as np

from ..client import NotFound
from ..isa import Op
from .common import BACKENDS, BOARD, Checks, Meter, at_boards, best_of, left_out, open_device

CLAIM = "51 cycles a hop; 9x an in-memory graph"
INSTRUCTIONS = frozenset({Op.CPUT, Op.CKG, Op.CDELTA, Op.CGET})
FAMILY, LESMIS = 1, 2
FATHER, MOTHER = 1, 2
HOPS = 4
ENTITY = 1


def shape(size):
    return dict(people=10_000 * size, family_queries=2000, lesmis_queries=400,
                checkpoints=[n * size for n in (1000, 3000, 10_000)])


def node(graph, n):
    return (graph, n, 1, 0, 0, 0, 0, 0, 0)


def relation(r):
    return (0, 0, 0, r, 0, 0, 0, 0, 0)


def family(people, rng):
    """networkx DiGraph: an edge child -> parent with its relation. Parents
    come from the last ``span`` men and women born before the child, so that
    the family runs many generations deep."""
    g = nx.DiGraph()
    founders = max(20, people // 20)
    span = founders // 2
    male = rng.random(people + 1) < 0.5
    men, women = [], []
    for i in range(1, people + 1):
        g.add_node(i)
        if i > founders and men and women:
            g.add_edge(i, men[-1 - rng.integers(min(span, len(men)))], relation=FATHER)
            g.add_edge(i, women[-1 - rng.integers(min(span, len(women)))], relation=MOTHER)
        (men if male[i] else women).append(i)
    return g


def lesmis():
    """Les Miserables as a DiGraph of numbered characters: an edge n -> m
    with relation j+1 where m is n's j-th neighbour."""
    source = nx.les_miserables_graph()
    number = {name: i + 1 for i, name in enumerate(sorted(source))}
    g = nx.DiGraph()
    for name in source:
        for j, m in enumerate(sorted(number[x] for x in source[name])):
            g.add_edge(number[name], m, relation=j + 1)
    return g


def nx_walk(g, start, relations):
    """The nodes a query reaches, by networkx: stops where no edge has the relation."""
    path, at = [], start
    for r in relations:
        nxt = [m for _, m, d in g.out_edges(at, data=True) if d["relation"] == r]
        if not nxt:
            break
        at = nxt[0]
        path.append(at)
    return path


def dict_walk(edges, start, relations):
    path, at = [], start
    for r in relations:
        at = edges.get((at, r))
        if at is None:
            break
        path.append(at)
    return path


def store(dev, graph_id, g, nodes=None):
    """CPUT every edge (of ``nodes``); returns how many."""
    with dev.batch():
        stored = [dev.cput((graph_id, a, 1, d["relation"], 0, 0, 0, 0, 0), b)
                  for a, b, d in g.edges(nodes, data=True)]
    for pending in stored:
        pending.result()                          # raises if the device refused one
    return len(stored)


def by_ckg(dev, graph_id, queries):
    """Each query's path (the values it reached) by one CKG each, all in one batch."""
    with dev.batch():
        pending = [dev.ckg(node(graph_id, s), [relation(r) for r in rels], entity=ENTITY)
                   for s, rels in queries]
    paths = []
    for p in pending:
        try:
            records = p.result()
        except NotFound as missing:
            records = missing.records
        paths.append([value for _, value in records])
    return paths


def by_cdelta_cget(dev, graph_id, queries):
    """The same walks as a CDELTA (node + relation) and a CGET per hop: one
    batch per step across every query still walking."""
    at = {i: s for i, (s, _) in enumerate(queries)}
    paths = [[] for _ in queries]
    for hop in range(HOPS):
        with dev.batch():
            edges = {i: dev.cdelta(node(graph_id, n), relation(queries[i][1][hop]))
                     for i, n in at.items()}
        with dev.batch():
            values = {i: dev.cget(e.result()) for i, e in edges.items()}
        for i, v in values.items():
            try:
                at[i] = v.result()
                paths[i].append(at[i])
            except NotFound:
                del at[i]
    return paths


def rate(walk, queries, repeats=3):
    """Hops a second for ``walk(start, relations) -> path`` over the queries
    (the best of ``repeats`` runs)."""
    seconds, hops = best_of(repeats, lambda: sum(len(walk(s, r)) for s, r in queries))
    return hops / seconds


def run(size=1, backends=BACKENDS, seed=3, log=print):
    p_shape = shape(size)
    rng = np.random.default_rng(seed)
    fam, les = family(p_shape["people"], rng), lesmis()
    fam_edges = {(a, d["relation"]): b for a, b, d in fam.edges(data=True)}

    def queries(count, people, relations):
        return [(int(rng.integers(1, people + 1)),
                 [int(x) for x in rng.integers(1, relations + 1, HOPS)]) for _ in range(count)]

    les_queries = queries(p_shape["lesmis_queries"], les.number_of_nodes(), 4)
    checkpoints = {n: queries(p_shape["family_queries"], n, 2) for n in p_shape["checkpoints"]}
    result = {"workload": "graph", "claim": CLAIM, "parameters": p_shape,
              "graphs": {"lesmis": [les.number_of_nodes(), les.number_of_edges()],
                         "family": [fam.number_of_nodes(), fam.number_of_edges()]},
              "baseline": {}, "backends": {}}
    for n, qs in checkpoints.items():
        # the first n people, as a graph and a dict of their own (not views)
        sub = fam.subgraph(range(1, n + 1)).copy()
        sub_edges = {key: b for key, b in fam_edges.items() if key[0] <= n}
        result["baseline"][n] = {
            "networkx_hops_per_s": rate(lambda s, r: nx_walk(sub, s, r), qs),
            "dict_hops_per_s": rate(lambda s, r: dict_walk(sub_edges, s, r), qs)}
    for backend in backends:
        log(f"graph: {backend}: Les Miserables ({les.number_of_edges()} edges) and a family of "
            f"{fam.number_of_nodes()} people ({fam.number_of_edges()} edges), {HOPS}-hop queries")
        checks = Checks()
        run_result = {"checkpoints": {}}
        with open_device(backend, entries=32768 * size) as dev:
            keys = store(dev, LESMIS, les)
            for name, walk in (("ckg", by_ckg), ("cdelta_cget", by_cdelta_cget)):
                for (s, r), got in zip(les_queries, walk(dev, LESMIS, les_queries)):
                    want = nx_walk(les, s, r)
                    checks.check(got == want, lambda: f"Les Miserables {name} from {s} by {r}: "
                                                      f"{got} against networkx's {want}")
            stored = 0
            for n, qs in checkpoints.items():
                keys += store(dev, FAMILY, fam, range(stored + 1, n + 1))
                stored = n
                point = {}
                for name, walk in (("ckg", by_ckg), ("cdelta_cget", by_cdelta_cget)):
                    with Meter(dev) as m:
                        paths = walk(dev, FAMILY, qs)
                    for (s, r), got in zip(qs, paths):
                        want = nx_walk(fam, s, r)
                        checks.check(got == want, lambda: f"family {name} from {s} by {r}: "
                                                          f"{got} against networkx's {want}")
                    hops = sum(len(p) for p in paths)
                    point[name] = {"hops": hops, "host_s": m.seconds,
                                   "host_hops_per_s": hops / m.seconds}
                    if m.clocks is not None:
                        point[name]["clocks"] = m.clocks
                        point[name]["clocks_per_hop"] = m.clocks / hops
                        ops = {Op.CKG} if name == "ckg" else {Op.CDELTA, Op.CGET}
                        point[name]["boards"] = at_boards(m.clocks, m.sent, m.received, ops, keys=keys)
                run_result["checkpoints"][n] = point
            run_result["checks"] = checks.report()
            result["backends"][backend] = run_result
    return conclude(result)


def conclude(result):
    rtl = result["backends"].get("verilator")
    people = max(result["baseline"])
    base = result["baseline"][people]
    if rtl:
        last = rtl["checkpoints"][people]["ckg"]
        board = last["boards"][BOARD]
        hops_core = last["hops"] / board["core_s"]
        hops_link = last["hops"] / max(board["core_s"], board["link_s"])
        result["measured"] = (
            f"{last['clocks_per_hop']:.1f} clocks a hop by CKG (4-hop queries, frames in at a "
            f"byte a clock); at the {BOARD}'s {board['stream_mhz']} MHz stream clock "
            f"{hops_core / base['dict_hops_per_s']:.2g}x "
            f"a Python dict, {hops_core / base['networkx_hops_per_s']:.2g}x networkx; "
            f"{hops_link / base['dict_hops_per_s']:.2g}x a dict through its link"
            + left_out(last["boards"]))
        cycles_ok = last["clocks_per_hop"] <= 51
        speed_ok = hops_core >= 9 * base["dict_hops_per_s"]
        result["verdict"] = ("holds" if cycles_ok and speed_ok else
                             "51 cycles holds; 9x not reached" if cycles_ok else
                             "9x holds; 51 cycles not reached" if speed_ok else "not reached")
        series = {f"RTL CKG at the {BOARD}'s clock": [], f"RTL CDELTA+CGET at the {BOARD}'s clock": [],
                  "networkx": [], "Python dict": []}
        for n, point in rtl["checkpoints"].items():
            for name, label in (("ckg", f"RTL CKG at the {BOARD}'s clock"),
                                ("cdelta_cget", f"RTL CDELTA+CGET at the {BOARD}'s clock")):
                series[label].append((n, point[name]["hops"] /
                                      point[name]["boards"][BOARD]["core_s"]))
            series["networkx"].append((n, result["baseline"][n]["networkx_hops_per_s"]))
            series["Python dict"].append((n, result["baseline"][n]["dict_hops_per_s"]))
        result["curves"] = [{"title": "Knowledge graph: hops a second against graph size",
                             "x": "people in the family graph", "y": "hops / s", "log": True,
                             "series": series}]
    else:
        result["measured"], result["verdict"] = "no RTL run", "not measured"
    return result
