"""Train XGBoost (hist) on the same data and parameters as a Hangar test,
and load Hangar's model.json into XGBoost.

usage: xgb_compare.py PARAMS.json TRAIN.csv TEST.csv [MODEL.json]

The CSV files are numeric, label in the first column, header row. Prints one
JSON object: XGBoost's predictions on the test set, the shape of XGBoost's
trees (children and split features of each) and, given MODEL.json, the
predictions of that model as XGBoost computes them (to compare with Hangar's).
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64,
                         missing_values="", filling_values=np.nan)
    if data.ndim == 1:
        data = data.reshape(1, -1)
    return header[1:], data[:, 0], data[:, 1:]


def main():
    params = json.load(open(sys.argv[1]))
    names, ytr, xtr = load(sys.argv[2])
    _, yte, xte = load(sys.argv[3])
    rounds = params.pop("n_estimators")
    dtr = xgb.DMatrix(xtr, label=ytr, feature_names=names)
    dte = xgb.DMatrix(xte, label=yte, feature_names=names)
    params.setdefault("tree_method", "hist")
    t0 = time.perf_counter()
    booster = xgb.train(params, dtr, rounds)
    seconds = time.perf_counter() - t0
    pred = booster.predict(dte)
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    shapes = [{k: t[k] for k in ("left_children", "right_children", "split_indices")} for t in trees]
    out = {"xgboost_version": xgb.__version__, "train_seconds": seconds, "xgb_pred": pred.tolist(),
           "xgb_trees": shapes}
    if len(sys.argv) > 4:
        ours = xgb.Booster()
        ours.load_model(sys.argv[4])
        out["ours_pred"] = ours.predict(dte).tolist()
        out["ours_num_features"] = ours.num_features()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
