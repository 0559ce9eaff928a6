#!/usr/bin/python3
"""Time XGBoost's own batch prediction for the trees package's benchmark.

Usage: xgb_bench.py OUTDIR [--rows N] [--threads T] [--repeat R] [--reuse]

Trains the benchmark model (100 trees, depth 6, 20 features, binary:logistic,
hist, fixed seed) and writes OUTDIR/model.json and OUTDIR/rows.f64 (N rows x 20
float64, little-endian, row-major, ~5% NaN). Then times
Booster.inplace_predict on those rows with nthread=T, best of R runs, and
prints one JSON line: {"rows": N, "threads": T, "best_seconds": s,
"rows_per_sec": r, "xgboost": version}. BenchmarkPredictBatch runs this and
reports the number next to its own for the same model.json and rows.
--reuse skips training and loads OUTDIR/model.json and OUTDIR/rows.f64 from
an earlier run, to time XGBoost again on exactly the same inputs.
"""
import argparse
import json
import os
import time

import numpy as np
import xgboost as xgb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    if a.reuse:
        booster = xgb.Booster(model_file=os.path.join(a.outdir, "model.json"))
        rows = np.fromfile(os.path.join(a.outdir, "rows.f64"), dtype="<f8").reshape(-1, 20)
        a.rows = len(rows)
        time_it(booster, rows, a)
        return

    rng = np.random.default_rng(42)
    nf = 20
    X = rng.normal(size=(20_000, nf))
    y = (X[:, 0] + X[:, 1] * X[:, 2] - np.abs(X[:, 3]) + 0.5 * rng.normal(size=len(X)) > 0).astype(float)
    X[rng.random(size=X.shape) < 0.05] = np.nan
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
                         "seed": 0, "nthread": a.threads},
                        xgb.DMatrix(X, label=y, missing=np.nan), 100)
    booster.save_model(os.path.join(a.outdir, "model.json"))

    rows = rng.normal(size=(a.rows, nf))
    rows[rng.random(size=rows.shape) < 0.05] = np.nan
    rows.astype("<f8").tofile(os.path.join(a.outdir, "rows.f64"))

    time_it(booster, rows, a)


def time_it(booster, rows, a):
    booster.set_param({"nthread": a.threads})
    booster.inplace_predict(rows)  # warm up
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        booster.inplace_predict(rows)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"rows": a.rows, "threads": a.threads, "best_seconds": best,
                      "rows_per_sec": a.rows / best, "xgboost": xgb.__version__}))


if __name__ == "__main__":
    main()
