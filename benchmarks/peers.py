#!/usr/bin/env python3
"""The tools users would otherwise pick, computing lograd's app metrics on one file.

Usage:
  benchmarks/peers.py TOOL PATH

TOOL is mawk, duckdb, polars or python. Prints one JSON object: entries,
malformed, errors, error_rate, avg_response_time, p95, requests_per_second and
per_minute {minute: [requests, errors]} — the answers that benchmarks/throughput.py
compares with lograd's report. Each peer is written the way a user would write
it: regular expressions from SPEC §1 over the file's lines, then its own
grouping (SQL, expressions, a loop); none checks calendar dates or zones.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL")
ERRORS = ("ERROR", "CRITICAL", "FATAL")
ENTRY = r"^(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?[ \t]+([A-Za-z]+)(?:[ \t]+(.*))?$"
RESPONSE = r"(?:\bin|\btook|\bresponse_time[=:]|\blatency[=:]|\bduration[=:])\s*(\d+(?:\.\d+)?)\s*(ms|s|us)\b"
UNIT_MS = {"ms": 1.0, "s": 1000.0, "us": 0.001}


def nearest_rank(sorted_values: list[float], pct: float) -> float:
    return sorted_values[max(1, math.ceil(pct / 100 * len(sorted_values))) - 1]


def by_mawk(path: str) -> dict:
    out = subprocess.run(["mawk", "-f", os.path.join(HERE, "app_metrics.awk"), path],
                         check=True, capture_output=True, text=True).stdout
    answers: dict = {"per_minute": {}, "avg_response_time": None, "p95": None, "requests_per_second": None}
    for line in out.splitlines():
        key, *values = line.split()
        if key == "minute":
            answers["per_minute"][values[0]] = [int(values[1]), int(values[2])]
        elif key in ("entries", "malformed", "errors"):
            answers[key] = int(values[0])
        else:
            answers[key] = float(values[0])
    return answers


def by_duckdb(path: str) -> dict:
    import duckdb
    con = duckdb.connect(config={"threads": os.cpu_count() or 1})
    lines = ("read_csv($path, columns={'line': 'VARCHAR'}, header=false, delim=chr(1), quote='', "
             "escape='', auto_detect=false)")
    con.execute(f"""
        CREATE TEMP TABLE parsed AS
        SELECT regexp_extract(line, $entry, ['d', 'h', 'mi', 's', 'lvl', 'msg']) AS p
        FROM {lines} WHERE line IS NOT NULL AND trim(line, ' \t') <> ''""",
                {"path": path, "entry": ENTRY})
    con.execute(f"""
        CREATE TEMP TABLE entries AS
        SELECT p.d || 'T' || p.h || ':' || p.mi AS minute,
               epoch(try_strptime(p.d || ' ' || p.h || ':' || p.mi || ':' || p.s, '%Y-%m-%d %H:%M:%S'))::BIGINT AS second,
               upper(p.lvl) IN {ERRORS} AS is_error,
               regexp_extract(p.msg, $response, ['v', 'u']) AS rt
        FROM parsed WHERE p.d <> '' AND upper(p.lvl) IN {LEVELS}""", {"response": RESPONSE})
    con.execute("DELETE FROM entries WHERE second IS NULL")  # impossible dates and times
    nonblank = con.execute("SELECT count(*) FROM parsed").fetchone()[0]
    n, errors, first, last = con.execute(
        "SELECT count(*), count(*) FILTER (is_error), min(second), max(second) FROM entries").fetchone()
    avg, p95 = con.execute("""
        WITH t AS (SELECT nullif(rt.v, '')::DOUBLE * CASE rt.u WHEN 'ms' THEN 1.0 WHEN 's' THEN 1000.0
                                                               ELSE 0.001 END AS ms FROM entries)
        SELECT avg(ms), quantile_disc(ms, 0.95) FROM t""").fetchone()
    minutes = con.execute(
        "SELECT minute, count(*), count(*) FILTER (is_error) FROM entries GROUP BY minute").fetchall()
    return {"entries": n, "malformed": nonblank - n, "errors": errors, "error_rate": errors / n if n else 0.0,
            "avg_response_time": avg, "p95": p95,
            "requests_per_second": n / (last - first + 1) if n else None,
            "per_minute": {m: [r, e] for m, r, e in minutes}}


def by_polars(path: str) -> dict:
    import polars as pl
    lines = pl.scan_csv(path, has_header=False, separator="\x01", quote_char=None, new_columns=["line"],
                        schema={"line": pl.Utf8}, encoding="utf8-lossy")
    nonblank = lines.filter(pl.col("line").is_not_null() & (pl.col("line").str.strip_chars(" \t") != ""))
    fields = pl.col("line").str.extract_groups(
        ENTRY.replace("(\\d{4}", "(?<d>\\d{4}").replace("(\\d\\d):(\\d\\d):(\\d\\d)", "(?<h>\\d\\d):(?<mi>\\d\\d):(?<s>\\d\\d)")
        .replace("([A-Za-z]+)", "(?<lvl>[A-Za-z]+)").replace("(.*)", "(?<msg>.*)"))
    parsed = nonblank.select(fields.alias("p")).unnest("p")
    entries = (parsed.filter(pl.col("d").is_not_null() & pl.col("lvl").str.to_uppercase().is_in(LEVELS))
               .with_columns(minute=pl.col("d") + "T" + pl.col("h") + ":" + pl.col("mi"),
                             second=(pl.col("d") + " " + pl.col("h") + ":" + pl.col("mi") + ":" + pl.col("s"))
                             .str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S", strict=False).dt.epoch("s"),
                             is_error=pl.col("lvl").str.to_uppercase().is_in(ERRORS),
                             rt=pl.col("msg").str.extract_groups(RESPONSE.replace("(\\d+", "(?<v>\\d+")
                                                                 .replace("(ms|s|us)", "(?<u>ms|s|us)")))
               .filter(pl.col("second").is_not_null())  # impossible dates and times
               .unnest("rt")
               .with_columns(ms=pl.col("v").cast(pl.Float64) * pl.col("u").replace_strict(UNIT_MS, default=None)))
    total = nonblank.select(pl.len()).collect().item()
    summary, minutes = pl.collect_all([
        entries.select(n=pl.len(), errors=pl.col("is_error").sum(), first=pl.col("second").min(),
                       last=pl.col("second").max(), avg=pl.col("ms").mean(),
                       p95=pl.col("ms").drop_nulls().sort().gather(
                           (pl.col("ms").drop_nulls().len() * 0.95).ceil().cast(pl.Int64).clip(1) - 1).first()),
        entries.group_by("minute").agg(requests=pl.len(), errors=pl.col("is_error").sum())])
    s = summary.row(0, named=True)
    n = s["n"]
    return {"entries": n, "malformed": total - n, "errors": s["errors"],
            "error_rate": s["errors"] / n if n else 0.0, "avg_response_time": s["avg"], "p95": s["p95"],
            "requests_per_second": n / (s["last"] - s["first"] + 1) if n else None,
            "per_minute": {m: [r, e] for m, r, e in minutes.iter_rows()}}


def by_python(path: str) -> dict:
    import calendar
    import datetime
    entry, response = re.compile(ENTRY.encode()), re.compile(RESPONSE.encode())
    levels = {lvl.encode() for lvl in LEVELS}
    errors_of = {lvl.encode() for lvl in ERRORS}
    n = bad = errors = 0
    first = last = None
    times: list[float] = []
    minutes: dict[str, list[int]] = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if not line.strip(b" \t"):
                continue
            m = entry.match(line)
            if m is None or m[5].upper() not in levels:
                bad += 1
                continue
            try:
                y, mo, d = int(m[1][:4]), int(m[1][5:7]), int(m[1][8:10])
                when = datetime.datetime(y, mo, d, int(m[2]), int(m[3]), int(m[4]))
            except ValueError:  # an impossible date or time
                bad += 1
                continue
            n += 1
            minute = f"{m[1].decode()}T{m[2].decode()}:{m[3].decode()}"
            slot = minutes.setdefault(minute, [0, 0])
            slot[0] += 1
            if m[5].upper() in errors_of:
                errors += 1
                slot[1] += 1
            second = calendar.timegm(when.timetuple())
            first = second if first is None else min(first, second)
            last = second if last is None else max(last, second)
            r = response.search(m[6] or b"")
            if r:
                times.append(float(r[1]) * UNIT_MS[r[2].decode()])
    times.sort()
    return {"entries": n, "malformed": bad, "errors": errors, "error_rate": errors / n if n else 0.0,
            "avg_response_time": sum(times) / len(times) if times else None,
            "p95": nearest_rank(times, 95) if times else None,
            "requests_per_second": n / (last - first + 1) if n else None, "per_minute": minutes}


TOOLS = {"mawk": by_mawk, "duckdb": by_duckdb, "polars": by_polars, "python": by_python}


def lograd_answers(report: dict) -> dict:
    """The same answers from a lograd JSON report."""
    rt = report["response_time"] or {}
    return {"entries": report["entries"], "malformed": report["malformed_lines"], "errors": report["errors"],
            "error_rate": report["error_rate"], "avg_response_time": report["avg_response_time"],
            "p95": rt.get("p95"), "requests_per_second": report["requests_per_second"],
            "per_minute": {m["minute"]: [m["requests"], m["errors"]] for m in report["per_minute"]}}


def differences(mine: dict, theirs: dict) -> list[str]:
    """What differs: counts and minutes exactly, means to 1e-9, p95 within SPEC §3's 1%."""
    out = []
    for key in ("entries", "malformed", "errors"):
        if mine[key] != theirs[key]:
            out.append(f"{key} {theirs[key]} (lograd {mine[key]})")
    for key, tolerance in (("error_rate", 1e-9), ("avg_response_time", 1e-9), ("requests_per_second", 1e-9),
                           ("p95", 0.01)):
        a, b = mine[key], theirs[key]
        if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=tolerance)):
            out.append(f"{key} {b} (lograd {a})")
    if mine["per_minute"] != theirs["per_minute"]:
        wrong = sum(1 for m in set(mine["per_minute"]) | set(theirs["per_minute"])
                    if mine["per_minute"].get(m) != theirs["per_minute"].get(m))
        out.append(f"{wrong} minutes differ")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in TOOLS:
        raise SystemExit(__doc__)
    json.dump(TOOLS[sys.argv[1]](sys.argv[2]), sys.stdout)
