import argparse
import csv
import json
import os

from tracking import log_metrics

p = argparse.ArgumentParser()
p.add_argument("--model_input", required=True)
p.add_argument("--test_data", required=True)
p.add_argument("--report", required=True)
a = p.parse_args()

with open(os.path.join(a.model_input, "model.json")) as f:
    model = json.load(f)
with open(os.path.join(a.test_data, "data.csv"), newline="") as f:
    r = csv.reader(f)
    next(r)
    rows = [[float(v) for v in row] for row in r]
w = model["weights"]
errs = [sum(wi * xi for wi, xi in zip(w, [1.0] + row[1:])) - row[0] for row in rows]
rmse = (sum(e * e for e in errs) / len(errs)) ** 0.5
mae = sum(abs(e) for e in errs) / len(errs)
os.makedirs(a.report, exist_ok=True)
with open(os.path.join(a.report, "metrics.json"), "w") as f:
    json.dump({"test_rmse": rmse, "test_mae": mae, "rows": len(rows)}, f)
log_metrics({"test_rmse": rmse, "test_mae": mae})
