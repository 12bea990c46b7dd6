"""Summarise a `customer_id,date,amount` CSV per customer with polars, as an analyst would
without Clientele: frequency (repeat purchase days), recency and T in days, mean repeat-day
value. Prints `polars_summary seconds` (median of 3 runs) and the customer count."""
import statistics
import sys
import time

import polars as pl

path, end = sys.argv[1], sys.argv[2]


def summary():
    days = (
        pl.scan_csv(path, schema={"customer_id": pl.Utf8, "date": pl.Utf8, "amount": pl.Float64})
        .with_columns(pl.col("date").str.to_date("%Y-%m-%d"))
        .filter(pl.col("date") <= pl.lit(end).str.to_date("%Y-%m-%d"))
        .group_by("customer_id", "date")
        .agg(pl.col("amount").sum())
        .group_by("customer_id")
        .agg(
            pl.len().alias("days"),
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
            pl.col("amount").sum().alias("total"),
            pl.col("amount").sort_by("date").first().alias("first_value"),
        )
        .with_columns(
            (pl.col("days") - 1).alias("frequency"),
            (pl.col("last") - pl.col("first")).dt.total_days().alias("recency"),
            (pl.lit(end).str.to_date("%Y-%m-%d") - pl.col("first")).dt.total_days().alias("T"),
        )
        .collect()
    )
    return days


times = []
for _ in range(3):
    start = time.perf_counter()
    out = summary()
    times.append(time.perf_counter() - start)
print("polars_summary", statistics.median(times))
print("customers", out.height, file=sys.stderr)
