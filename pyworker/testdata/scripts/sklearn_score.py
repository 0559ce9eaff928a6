# A realistic script: fits a scikit-learn model in init() (standing in for
# joblib.load of AZUREML_MODEL_DIR's file) and predicts numpy arrays.
import json

import numpy as np
from sklearn.linear_model import LinearRegression

model = None


def init():
    global model
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LinearRegression().fit(x, 2 * x[:, 0] + 1)


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    return model.predict(data)
