#!/usr/bin/env python3
"""The tools users would pick for connection logs, answering lograd's conn questions.

Usage:
  benchmarks/conn_peers.py TOOL PATH HOST LAST

TOOL is mawk, duckdb, polars or dask. Prints one JSON object: in_window,
connected_to_host, connected_from_host, top_sources and top_targets (SPEC §3)
for the LAST seconds up to the newest entry, as benchmarks/connections.py
compares them with lograd's report. Each reads the file as space-separated
columns (time, source, target), the way a user would with these tools; the
window needs the newest entry first, so each finds it, then filters.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MS = 100_000_000_000  # SPEC §1: at or above, milliseconds; below, seconds


def top(counts: dict[str, int]) -> dict:
    most = max(counts.values(), default=0)
    return {"hosts": sorted(h for h, n in counts.items() if n == most) if most else [], "connections": most}


def answers(n: int, to_host: dict, from_host: dict, sources: dict, targets: dict) -> dict:
    return {"in_window": n, "connected_to_host": to_host, "connected_from_host": from_host,
            "top_sources": top(sources), "top_targets": top(targets)}


def by_mawk(path: str, host: str, last: int) -> dict:
    out = subprocess.run(["mawk", "-v", f"host={host}", "-v", f"last={last}", "-f",
                          os.path.join(HERE, "conn_metrics.awk"), path, path],
                         check=True, capture_output=True, text=True).stdout
    n, parts = 0, {"to": {}, "from": {}, "source": {}, "target": {}}
    for line in out.splitlines():
        key, *rest = line.split()
        if key == "in_window":
            n = int(rest[0])
        else:
            parts[key][rest[0]] = int(rest[1])
    return answers(n, parts["to"], parts["from"], parts["source"], parts["target"])


def by_duckdb(path: str, host: str, last: int) -> dict:
    import duckdb
    con = duckdb.connect(config={"threads": os.cpu_count() or 1})
    con.execute(f"""CREATE TEMP TABLE c AS
        SELECT CASE WHEN t >= {MS} THEN t ELSE t * 1000 END AS ms, src, dst
        FROM read_csv($path, columns={{'t': 'BIGINT', 'src': 'VARCHAR', 'dst': 'VARCHAR'}},
                      delim=' ', header=false, quote='', escape='', auto_detect=false)""", {"path": path})
    newest = con.execute("SELECT max(ms) FROM c").fetchone()[0]
    con.execute("CREATE TEMP TABLE w AS SELECT * FROM c WHERE ms BETWEEN $lo AND $hi",
                {"lo": newest - last * 1000, "hi": newest})

    def counts(sql: str, params: dict | None = None) -> dict:
        return dict(con.execute(sql, params).fetchall())
    return answers(con.execute("SELECT count(*) FROM w").fetchone()[0],
                   counts("SELECT src, count(*) FROM w WHERE dst = $h GROUP BY src", {"h": host}),
                   counts("SELECT dst, count(*) FROM w WHERE src = $h GROUP BY dst", {"h": host}),
                   counts("SELECT src, count(*) FROM w GROUP BY src"),
                   counts("SELECT dst, count(*) FROM w GROUP BY dst"))


def by_polars(path: str, host: str, last: int) -> dict:
    import polars as pl
    c = (pl.scan_csv(path, has_header=False, separator=" ", quote_char=None, new_columns=["t", "src", "dst"],
                     schema={"t": pl.Int64, "src": pl.Utf8, "dst": pl.Utf8})
         .with_columns(ms=pl.when(pl.col("t") >= MS).then(pl.col("t")).otherwise(pl.col("t") * 1000)))
    newest = c.select(pl.col("ms").max()).collect().item()
    w = c.filter(pl.col("ms").is_between(newest - last * 1000, newest)).collect()

    def counts(frame, column: str) -> dict:
        return dict(frame.group_by(column).len().iter_rows())
    return answers(w.height, counts(w.filter(pl.col("dst") == host), "src"),
                   counts(w.filter(pl.col("src") == host), "dst"), counts(w, "src"), counts(w, "dst"))


def by_dask(path: str, host: str, last: int) -> dict:
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster):
        c = dd.read_csv(path, sep=" ", header=None, names=["t", "src", "dst"],
                        dtype={"t": "int64", "src": "string", "dst": "string"}, blocksize="64MB")
        c = c.assign(ms=c.t.where(c.t >= MS, c.t * 1000))
        newest = int(c.ms.max().compute())
        w = c[(c.ms >= newest - last * 1000) & (c.ms <= newest)].persist()
        to_host = w[w.dst == host].src.value_counts().compute()
        from_host = w[w.src == host].dst.value_counts().compute()
        sources, targets = w.src.value_counts().compute(), w.dst.value_counts().compute()
        n = int(w.shape[0].compute())
    return answers(n, *(dict(zip(map(str, s.index), map(int, s.values)))
                        for s in (to_host, from_host, sources, targets)))


TOOLS = {"mawk": by_mawk, "duckdb": by_duckdb, "polars": by_polars, "dask": by_dask}


def lograd_answers(report: dict) -> dict:
    return {k: report[k] for k in ("in_window", "connected_to_host", "connected_from_host",
                                   "top_sources", "top_targets")}


def differences(mine: dict, theirs: dict) -> list[str]:
    out = []
    for key in mine:
        if mine[key] != theirs[key]:
            detail = "" if isinstance(mine[key], dict) and len(str(mine[key])) > 80 else f" {theirs[key]} (lograd {mine[key]})"
            out.append(f"{key} differs{detail}")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in TOOLS:
        raise SystemExit(__doc__)
    json.dump(TOOLS[sys.argv[1]](sys.argv[2], sys.argv[3], int(sys.argv[4])), sys.stdout)
