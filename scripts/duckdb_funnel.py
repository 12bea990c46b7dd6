"""The CDNOW funnel as of a day, computed with DuckDB from the same orders as Clientele's
`ladder --rules immediate.toml` (the default rules, demotion immediate, so the answer is the
rules' verdict at that moment). Prints `duckdb_funnel seconds` (median of 5 runs) and, on
stderr, the counts per rung and status, which the caller compares with Clientele's."""
import json
import statistics
import sys
import time

import duckdb

path, as_of = sys.argv[1], sys.argv[2]
SQL = f"""
WITH lines AS (
    -- Whitespace-aligned columns with CRLF line ends: one column per line, split here.
    SELECT regexp_split_to_array(trim(line, ' \r'), '\\s+') AS f
    FROM read_csv('{path}', delim = '|', header = false, skip = 1, columns = {{'line': 'VARCHAR'}})
), orders AS (
    SELECT f[1] AS customer, strptime(f[2], '%Y%m%d') AS ordered_at FROM lines
), cutoff AS (SELECT TIMESTAMP '{as_of} 23:59:59.999999' AS t),
per AS (
    SELECT customer, count(*) AS paid, min(ordered_at) AS first_at, max(ordered_at) AS last_at,
           count(*) FILTER (WHERE ordered_at > (SELECT t FROM cutoff) - INTERVAL 365 DAY) AS in_window
    FROM orders WHERE ordered_at <= (SELECT t FROM cutoff) GROUP BY customer
), classified AS (
    SELECT
        CASE
            WHEN paid >= 4 AND date_diff('day', first_at, (SELECT t FROM cutoff)) >= 180 AND in_window >= 3 THEN 'client'
            WHEN paid >= 2 THEN 'customer'
            ELSE 'shopper'
        END AS rung,
        CASE
            WHEN (SELECT t FROM cutoff) - last_at >= INTERVAL 365 DAY THEN 'lapsed'
            WHEN epoch_us((SELECT t FROM cutoff) - last_at) >
                 greatest(90 * 86400000000, 2 * CASE WHEN paid >= 2 THEN epoch_us(last_at - first_at) // (paid - 1) ELSE 0 END)
                 THEN 'at_risk'
            ELSE 'active'
        END AS status
    FROM per
)
SELECT 'rung' AS grp, rung AS name, count(*) AS n FROM classified GROUP BY rung
UNION ALL
SELECT 'status', status, count(*) FROM classified GROUP BY status
"""
times = []
for _ in range(5):
    con = duckdb.connect()
    start = time.perf_counter()
    rows = con.execute(SQL).fetchall()
    times.append(time.perf_counter() - start)
print("duckdb_funnel", statistics.median(times))
print(json.dumps({f"{g}:{n}": c for g, n, c in rows}, sort_keys=True), file=sys.stderr)
