import argparse
import csv
import json
import os

from tracking import log_metrics

p = argparse.ArgumentParser()
p.add_argument("--training_data", required=True)
p.add_argument("--l2", type=float, default=0.0)
p.add_argument("--max_rows", type=int)
p.add_argument("--model_output", required=True)
a = p.parse_args()

with open(os.path.join(a.training_data, "data.csv"), newline="") as f:
    r = csv.reader(f)
    header = next(r)
    rows = [[float(v) for v in row] for row in r]
if a.max_rows:
    rows = rows[: a.max_rows]
y = [row[0] for row in rows]
X = [[1.0] + row[1:] for row in rows]
k = len(X[0])
# Ridge regression by the normal equations, solved by Gaussian elimination.
A = [[sum(x[i] * x[j] for x in X) + (a.l2 if i == j and i > 0 else 0.0) for j in range(k)] for i in range(k)]
b = [sum(x[i] * t for x, t in zip(X, y)) for i in range(k)]
for c in range(k):
    piv = max(range(c, k), key=lambda i: abs(A[i][c]))
    A[c], A[piv], b[c], b[piv] = A[piv], A[c], b[piv], b[c]
    for i in range(c + 1, k):
        f = A[i][c] / A[c][c]
        A[i] = [u - f * v for u, v in zip(A[i], A[c])]
        b[i] -= f * b[c]
w = [0.0] * k
for i in reversed(range(k)):
    w[i] = (b[i] - sum(A[i][j] * w[j] for j in range(i + 1, k))) / A[i][i]
pred = [sum(wi * xi for wi, xi in zip(w, x)) for x in X]
rmse = (sum((p - t) ** 2 for p, t in zip(pred, y)) / len(y)) ** 0.5
os.makedirs(a.model_output, exist_ok=True)
with open(os.path.join(a.model_output, "model.json"), "w") as f:
    json.dump({"features": header[1:], "weights": w}, f)
log_metrics({"train_rmse": rmse})
