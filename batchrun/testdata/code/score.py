# A batch scoring script for the tests with a real worker pool: rows of a
# table get a column scaled = x * scale, except x == 4, which it skips (a
# failed item); files (CSV tables) give one row per file with their sums.
import os

import pandas as pd

scale = None


def init():
    global scale
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "scale.txt")) as f:
        scale = float(f.read())


def run(mini_batch):
    if isinstance(mini_batch, pd.DataFrame):
        df = mini_batch[mini_batch["x"] != 4].copy()
        df["scaled"] = df["x"] * scale
        return df
    return [{"file": os.path.basename(p), "sum": float(pd.read_csv(p)["x"].sum()) * scale} for p in mini_batch]
