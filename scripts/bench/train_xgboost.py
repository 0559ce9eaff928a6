"""Hangar's side of the serving benchmark: the same data and model size as the
scikit-learn peer (sklearn_score_server.py: make_classification, 20 features,
100 trees of depth 4), trained with XGBoost and saved as XGBoost JSON, which
Hangar serves natively (in process, no Python).
Usage: python3 train_xgboost.py OUT_DIR   (writes OUT_DIR/model.json)
"""
import os
import sys

import xgboost as xgb
from sklearn.datasets import make_classification

out = sys.argv[1]
X, y = make_classification(n_samples=20000, n_features=20, n_informative=12, random_state=7)
names = ["f%d" % i for i in range(20)]
d = xgb.DMatrix(X, label=y, feature_names=names)
b = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.1, "seed": 7}, d, num_boost_round=100)
os.makedirs(out, exist_ok=True)
b.save_model(os.path.join(out, "model.json"))
