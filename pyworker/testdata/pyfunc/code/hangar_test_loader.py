# An MLflow pyfunc loader module: _load_pyfunc(data_path) returns an object
# with predict(DataFrame).
import json


class _Model:
    def __init__(self, scale):
        self.scale = scale

    def predict(self, df, params=None):
        offset = (params or {}).get("offset", 0)
        return (df.sum(axis=1) * self.scale + offset).to_numpy()


def _load_pyfunc(path):
    with open(path) as f:
        return _Model(json.load(f)["scale"])
