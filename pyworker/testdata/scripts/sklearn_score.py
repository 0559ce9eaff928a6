# score.py — the README's example scoring script.
import json, os
import joblib

model = None

def init():                      # once per worker, before it takes a request
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))

def run(raw_data):               # per request: the body as a str
    data = json.loads(raw_data)["data"]
    return model.predict(data)   # JSON-encoded into the 200 response
