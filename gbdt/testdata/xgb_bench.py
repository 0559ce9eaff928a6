"""Time XGBoost (hist) on the same job as BenchmarkTrainChicago: Chicago
training years (date < 2014-01-01), label ridership, date dropped, 300 rounds,
max_depth 6, eta 0.1, max_bin 256, 2 threads.

usage: python3 xgb_bench.py [../../testdata/chicago/chicago.csv] [repeats]
"""
import csv
import sys
import time

import numpy as np
import xgboost as xgb

path = sys.argv[1] if len(sys.argv) > 1 else "../../testdata/chicago/chicago.csv"
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
with open(path) as f:
    rows = list(csv.reader(f))
header = rows[0]
rows = [r for r in rows[1:] if r[header.index("date")] < "2014-01-01"]
label = header.index("ridership")
feats = [i for i, h in enumerate(header) if h not in ("ridership", "date")]
X = np.array([[float(r[i]) for i in feats] for r in rows])
y = np.array([float(r[label]) for r in rows])
params = {"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 6,
          "eta": 0.1, "max_bin": 256, "nthread": 2}
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    d = xgb.DMatrix(X, label=y, nthread=2)  # binning is part of Hangar's Train too
    xgb.train(params, d, 300)
    times.append(time.perf_counter() - t0)
print(f"xgboost {xgb.__version__}: {X.shape[0]} rows x {X.shape[1]} features, 300 rounds, nthread=2: "
      f"min {min(times):.3f} s, median {sorted(times)[len(times)//2]:.3f} s over {repeats} runs")
