"""Time lifetimes' fits on the CDNOW sample (the same summaries Clientele fits) and print
one line per model: `model seconds` (median of 5 fits)."""
import statistics
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

rows = []
with open(sys.argv[1]) as f:
    for line in f:
        cols = line.split()
        if cols:
            rows.append((int(cols[1]), cols[2], float(cols[4])))
tx = pd.DataFrame(rows, columns=["customer", "date", "amount"])
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
s = summary_data_from_transaction_data(tx, "customer", "date", monetary_value_col="amount",
                                       observation_period_end="1997-09-30", freq="D", freq_multiplier=7)
repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
fits = {
    "bgnbd": lambda: BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]),
    "pareto": lambda: ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"]),
    "mbgnbd": lambda: ModifiedBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]),
    "gamma_gamma": lambda: GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]),
}
for name, fit in fits.items():
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    print(name, statistics.median(times))
