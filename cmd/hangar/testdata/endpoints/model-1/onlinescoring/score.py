# An Azure scoring script: init() loads the model from AZUREML_MODEL_DIR,
# run() scores {"data": [[...], ...]} as the scaled sum of each row. Rows
# of a special kind exercise failures: a row starting with -1 raises, one
# starting with -2 hangs, one starting with -3 ends the worker.
import json
import os
import time

model = None


def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as f:
        model = json.load(f)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    for row in rows:
        if row and row[0] == -1:
            raise ValueError("row %r is not allowed" % (row,))
        if row and row[0] == -2:
            while True:
                time.sleep(1)
        if row and row[0] == -3:
            os._exit(3)
    return [model["scale"] * sum(row) for row in rows]
