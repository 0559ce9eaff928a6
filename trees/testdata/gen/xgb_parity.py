#!/usr/bin/python3
"""Train small XGBoost models and record XGBoost's own predictions.

Usage: xgb_parity.py OUTDIR [--small]

For every case it writes OUTDIR/<case>/model.json (Booster.save_model) and
OUTDIR/<case>/expect.json with the input rows and XGBoost's
predict(output_margin=True) and predict() outputs. Floats are written as
repr() strings so NaN survives JSON and no digit is lost. --small makes
models of a few KB (the committed golden fixtures in trees/testdata/xgb).
Everything is seeded: the same XGBoost version gives the same files.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb


def fmt(a):
    return [[repr(float(v)) for v in row] for row in np.asarray(a, dtype=np.float64)]


def edge_rows(booster, n_features, rng, count):
    """Rows whose values sit on and around the model's float32 thresholds."""
    gb = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    model = gb["model"] if "model" in gb else gb["gbtree"]["model"]
    thresholds = []
    for tree in model["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1 and (not tree.get("split_type") or tree["split_type"][i] == 0):
                thresholds.append((tree["split_indices"][i], np.float32(tree["split_conditions"][i])))
    rows = []
    for _ in range(count):
        row = rng.normal(size=n_features)
        if thresholds:
            for _ in range(3):
                f, t = thresholds[rng.integers(len(thresholds))]
                below = np.nextafter(t, np.float32(-np.inf))
                mid = (np.float64(below) + np.float64(t)) / 2
                row[f] = rng.choice([np.float64(t), np.float64(below), mid,
                                     np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf),
                                     np.nextafter(np.float64(t), np.inf), np.nextafter(np.float64(t), -np.inf)])
        rows.append(row)
    return np.array(rows)


def make_case(name, params, rounds, n=400, n_features=6, nan_frac=0.1, names=None, types=None,
              label="reg", seed=0, cat_feature=None, small=False, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    if cat_feature is not None:
        X[:, cat_feature] = rng.integers(0, 8, size=n)
    score = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] - np.abs(X[:, 3] if n_features > 3 else 0)
    if cat_feature is not None:
        score = score + np.isin(X[:, cat_feature], [1, 3, 6]) * 1.5
    mask = rng.random(size=X.shape) < nan_frac
    X[mask] = np.nan
    if label == "reg":
        y = scale * (score + 0.1 * rng.normal(size=n))
    elif label == "binary":
        y = (score + 0.3 * rng.normal(size=n) > 0).astype(float)
    elif label == "prob":
        y = 1 / (1 + np.exp(-score))
    elif label == "count":
        y = rng.poisson(np.exp(0.3 * score))
    elif label == "positive":
        y = np.exp(0.3 * score) + 0.1
    elif label.startswith("multi"):
        k = int(label[5:])
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, k + 1)[1:-1])).astype(float)
    ft = types
    dtrain = xgb.DMatrix(X, label=y, missing=np.nan, feature_names=names, feature_types=ft,
                         enable_categorical=cat_feature is not None)
    p = dict(params)
    p.setdefault("seed", seed)
    p.setdefault("nthread", 1)
    if small:
        p["max_depth"] = min(p.get("max_depth", 6), 3)
        rounds = min(rounds, 4)
    booster = xgb.train(p, dtrain, rounds)

    m = 20 if small else 300
    Xt = rng.normal(size=(m, n_features))
    if cat_feature is not None:
        Xt[:, cat_feature] = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 40, -1, 2.5], size=m)
    Xt[rng.random(size=Xt.shape) < nan_frac] = np.nan
    if not small:
        Xt = np.vstack([Xt, edge_rows(booster, n_features, rng, 100), np.zeros((1, n_features))])
    dtest = xgb.DMatrix(Xt, missing=np.nan, feature_names=names, feature_types=ft,
                        enable_categorical=cat_feature is not None)
    margin = booster.predict(dtest, output_margin=True)
    pred = booster.predict(dtest)
    k = max(1, int(p.get("num_class", 1)))
    margin = np.asarray(margin).reshape(len(Xt), k)
    pred = np.asarray(pred).reshape(len(Xt), -1)
    return booster, {"name": name, "objective": p["objective"], "num_outputs": k,
                     "xgboost_version": xgb.__version__,
                     "rows": fmt(Xt), "margin": fmt(margin), "pred": fmt(pred)}


CASES = [
    ("reg", dict(objective="reg:squarederror", max_depth=5, eta=0.3), 30,
     dict(names=[f"x{i}" for i in range(6)], types=["float"] * 6)),
    ("reg_base_score", dict(objective="reg:squarederror", base_score=3.7, tree_method="hist"), 20, {}),
    ("reg_large", dict(objective="reg:squarederror", max_depth=6, tree_method="approx"), 25, dict(scale=1e4)),
    ("binary", dict(objective="binary:logistic", max_depth=4), 30,
     dict(label="binary", names=["a", "b", "c", "d", "e", "f"], types=["q"] * 6)),
    ("binary_base_score", dict(objective="binary:logistic", base_score=0.2, tree_method="hist"), 20,
     dict(label="binary")),
    ("binary_nonan", dict(objective="binary:logistic", tree_method="exact"), 15, dict(label="binary", nan_frac=0.0)),
    ("logitraw", dict(objective="binary:logitraw", base_score=0.3), 10, dict(label="binary")),
    ("reg_logistic", dict(objective="reg:logistic", base_score=0.7), 15, dict(label="prob")),
    ("softprob", dict(objective="multi:softprob", num_class=3, max_depth=4), 12, dict(label="multi3")),
    ("softmax", dict(objective="multi:softmax", num_class=4, tree_method="hist"), 10, dict(label="multi4")),
    ("poisson", dict(objective="count:poisson", base_score=2.0), 15, dict(label="count")),
    ("gamma", dict(objective="reg:gamma", tree_method="hist"), 15, dict(label="positive")),
    ("tweedie", dict(objective="reg:tweedie", tweedie_variance_power=1.3), 15, dict(label="positive")),
    ("categorical", dict(objective="binary:logistic", tree_method="hist", max_cat_to_onehot=1, max_depth=4), 12,
     dict(label="binary", cat_feature=4, types=["q", "q", "q", "q", "c", "q"])),
    ("dart", dict(objective="binary:logistic", booster="dart", rate_drop=0.3, skip_drop=0.0, max_depth=3), 12,
     dict(label="binary")),
    ("forest", dict(objective="reg:squarederror", num_parallel_tree=4, subsample=0.7, colsample_bynode=0.7,
                    eta=1.0, max_depth=4), 3, {}),
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    small = "--small" in sys.argv[2:]
    for name, params, rounds, kw in CASES:
        booster, expect = make_case(name, params, rounds, small=small, **kw)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        booster.save_model(os.path.join(d, "model.json"))
        with open(os.path.join(d, "expect.json"), "w") as f:
            json.dump(expect, f, separators=(",", ":"))
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
