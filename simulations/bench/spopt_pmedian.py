#!/usr/bin/env python3
"""Solve OR-Library p-median files with PySAL spopt (PuLP + CBC) and time it.

The baseline for casehub-layout's p-median solver (see README.md beside this file).

Reads each `pmedN.txt` exactly as casehub-layout's `orlib::parse_pmed` does: a first line
`n m p`, then `m` lines `i j cost` of undirected edges between 1-based vertices, where an
edge listed twice keeps its *last* cost; self-loops are ignored. The cost matrix is the
all-pairs shortest-path distance (scipy.sparse.csgraph, Dijkstra). Every vertex is a client
of weight 1 and a candidate facility.

The model is spopt's `PMedian.from_cost_matrix(cost, weights=1, p)`, solved with
`pulp.PULP_CBC_CMD(msg=False)` (CBC's default tolerances: proven optimal). Two times are
measured with `time.perf_counter`:

* build_s: `PMedian.from_cost_matrix` (spopt builds the PuLP model);
* solve_s: `model.solve(solver, results=False)` (PuLP writes the model, runs CBC, reads
  the solution back; spopt's optional client-to-facility bookkeeping is left out, which
  only flatters spopt).

Output: one CSV line per instance on stdout, after a header:
`instance,nodes,p,objective,build_s,solve_s,status`.

Usage: spopt_pmedian.py FILE [FILE ...]
"""

import argparse
import os
import sys
import time

import numpy as np
import pulp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from spopt.locate import PMedian


def read_pmed(path):
    """Returns (n, p, dense shortest-path matrix) for an OR-Library pmed file."""
    with open(path) as f:
        tokens = f.read().split()
    n, m, p = int(tokens[0]), int(tokens[1]), int(tokens[2])
    body = tokens[3:]
    if len(body) != 3 * m:
        raise ValueError(f"{path}: header announces {m} edges, found {len(body) / 3}")
    edges = {}
    for k in range(m):
        i, j, c = int(body[3 * k]), int(body[3 * k + 1]), float(body[3 * k + 2])
        if i == j:
            continue
        # Last listing wins, in both directions.
        edges[(min(i, j), max(i, j))] = c
    rows, cols, vals = [], [], []
    for (i, j), c in edges.items():
        rows += [i - 1, j - 1]
        cols += [j - 1, i - 1]
        vals += [c, c]
    graph = csr_matrix((vals, (rows, cols)), shape=(n, n))
    dist = shortest_path(graph, method="D", directed=False)
    if not np.isfinite(dist).all():
        raise ValueError(f"{path}: graph is not connected")
    return n, p, dist


def solve(path, threads=None):
    n, p, cost = read_pmed(path)
    weights = np.ones(n)
    started = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, weights, p_facilities=p)
    build_s = time.perf_counter() - started
    solver = pulp.PULP_CBC_CMD(msg=False, threads=threads)
    started = time.perf_counter()
    model.solve(solver, results=False)
    solve_s = time.perf_counter() - started
    status = pulp.LpStatus[model.problem.status]
    objective = pulp.value(model.problem.objective)
    name = os.path.splitext(os.path.basename(path))[0]
    return name, n, p, objective, build_s, solve_s, status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="OR-Library pmed files")
    parser.add_argument(
        "--threads", type=int, default=None, help="CBC threads (default: CBC's own, 1)"
    )
    args = parser.parse_args()
    print("instance,nodes,p,objective,build_s,solve_s,status")
    for path in args.files:
        name, n, p, objective, build_s, solve_s, status = solve(path, args.threads)
        print(f"{name},{n},{p},{objective:.6g},{build_s:.4f},{solve_s:.4f},{status}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
