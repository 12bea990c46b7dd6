"""Fit the reference implementation, lifetimes, on the CDNOW sample and write its
parameters and per-customer predictions as JSON, for crates/clientele-clv/tests/lifetimes.rs.

Usage: python lifetimes_reference.py CDNOW_sample.txt OUT.json

Summaries use whole days / 7 (freq="D", freq_multiplier=7), as the published analyses and
Clientele do; calibration ends 1997-09-30.
"""
import json
import sys

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

HORIZON = 52.0


def main(sample_path, out_path):
    rows = []
    with open(sample_path) as f:
        for line in f:
            cols = line.split()
            if cols:
                rows.append((int(cols[1]), cols[2], float(cols[4])))
    tx = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    s = summary_data_from_transaction_data(
        tx, "customer", "date", monetary_value_col="amount",
        observation_period_end="1997-09-30", freq="D", freq_multiplier=7,
    )
    x, tx_, T = s["frequency"], s["recency"], s["T"]
    out = {"horizon": HORIZON, "customers": [int(c) for c in s.index]}
    for name, fitter in [("bgnbd", BetaGeoFitter()), ("pareto", ParetoNBDFitter()), ("mbgnbd", ModifiedBetaGeoFitter())]:
        fitter.fit(x, tx_, T)
        out[name] = {
            "params": {k: float(v) for k, v in fitter.params_.items()},
            "p_alive": [float(v) for v in fitter.conditional_probability_alive(x, tx_, T)],
            "expected": [float(v) for v in fitter.conditional_expected_number_of_purchases_up_to_time(HORIZON, x, tx_, T)],
        }
    repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    out["gamma_gamma"] = {
        "params": {k: float(v) for k, v in gg.params_.items()},
        "customers": [int(c) for c in repeat.index],
        "expected_value": [float(v) for v in gg.conditional_expected_average_profit(repeat["frequency"], repeat["monetary_value"])],
    }
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
