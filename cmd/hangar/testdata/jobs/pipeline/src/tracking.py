"""Log to the job's MLflow run over plain HTTP (the mlflow client works too
where it is installed): Hangar gives every step MLFLOW_TRACKING_URI,
MLFLOW_RUN_ID and a short-lived MLFLOW_TRACKING_TOKEN."""
import json
import os
import time
import urllib.request


def log_metrics(metrics, step=0):
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not uri or not run_id:
        print("no MLflow run: metrics not logged")
        return
    now = int(time.time() * 1000)
    body = {
        "run_id": run_id,
        "metrics": [
            {"key": k, "value": float(v), "timestamp": now, "step": step}
            for k, v in metrics.items()
        ],
    }
    req = urllib.request.Request(
        uri.rstrip("/") + "/api/2.0/mlflow/runs/log-batch",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    print("logged", ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
