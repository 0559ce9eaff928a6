# A scoring script that does what each request asks, to exercise the pool:
# {"op": "echo" | "raise" | "hang" | "sleep" | "exit" | "kill" | "segv" | "numpy" | "pandas" |
#  "nan" | "str" | "big" | "print" | "pid" | "hang_child", ...}.
import json
import os
import signal
import subprocess
import sys
import time

model = None


def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as f:
        model = json.load(f)
    print("init: model loaded, scale", model["scale"])
    print("init: env GREETING =", os.environ.get("GREETING"), file=sys.stderr)


def run(raw_data):
    req = json.loads(raw_data)
    op = req.get("op", "echo")
    if op == "echo":
        return {"echo": req.get("value"), "scale": model["scale"]}
    if op == "print":
        print("run: printing to stdout", req.get("value"))
        sys.stdout.write("no newline at the end")
        sys.stdout.flush()
        os.write(1, b"\nstraight to fd 1\n")
        return {"printed": True}
    if op == "raise":
        raise ValueError("bad value " + str(req.get("value")))
    if op == "exit":
        os._exit(3)
    if op == "sysexit":
        sys.exit(4)
    if op == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if op == "segv":
        import ctypes
        ctypes.string_at(0)
    if op == "hang":
        while True:
            time.sleep(1)
    if op == "hang_child":
        child = subprocess.Popen(["sleep", "300"])
        print("child", child.pid)
        return {"child": child.pid}
    if op == "sleep":
        time.sleep(req["seconds"])
        return {"pid": os.getpid()}
    if op == "pid":
        return {"pid": os.getpid()}
    if op == "numpy":
        import numpy as np
        return {"array": np.arange(3) * model["scale"], "scalar": np.int64(7), "float": np.float32(0.5)}
    if op == "pandas":
        import pandas as pd
        return pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    if op == "series":
        import pandas as pd
        return pd.Series([1.5, 2.5])
    if op == "nan":
        return [1.0, float("nan"), float("inf")]
    if op == "object":
        return {"x": object()}
    if op == "text":
        return raw_data
    if op == "str":
        return "[1, 2]"
    if op == "big":
        return "x" * req["size"]
    raise KeyError(op)
