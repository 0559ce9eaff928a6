# Hangar's scoring worker: one process of a pyworker.Pool.
#
# It loads an Azure-style scoring script (init() once, then run(raw_data) per
# request) or an MLflow python_function model (loader_module._load_pyfunc,
# then predict(DataFrame)), and answers requests over length-prefixed frames:
# 4 bytes big-endian payload length, 1 byte kind, payload. Requests arrive on
# stdin, answers leave on fd 3. The user's prints must never reach the frames,
# so fd 0 and fd 3 are moved to private descriptors first, fd 0 becomes
# /dev/null and sys.stdout writes to stderr, which the pool captures as logs.
#
# Frame kinds: Q request (worker <- pool); R ready, O result, E error
# (worker -> pool). An E payload is JSON:
# {"code": "script_error"|"bad_request"|"init_failed"|"missing_packages",
#  "message": str, "traceback": str, "missing": [str]}.
#
# argv[1] is JSON: {"mode": "script", "code_dir", "script", "batch"} or
# {"mode": "pyfunc", "model_dir", "loader_module", "data", "code"}.
# Standard library only: numpy and pandas are used when present.
#
# Batch mode ("batch": true, a batch deployment's script): a request is one
# mini-batch, JSON {"files": [absolute paths]} or {"columns": [names],
# "data": [[row values]]}; run(mini_batch) gets the list of paths, or the rows
# as a pandas DataFrame (a list of dicts when pandas does not import). The
# answer is what run() returned: {"columns": [...], "data": [[...]]} for a
# DataFrame (its columns kept), {"values": [...]} for a list, tuple, numpy
# array or pandas Series (one value per element).

import json
import os
import struct
import sys
import traceback

_IN = os.dup(0)
_OUT = os.dup(3)
os.close(3)
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
os.dup2(2, 1)
sys.stdout = sys.stderr

_HEADER = struct.Struct(">IB")


def _read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(_IN, n - len(buf))
        if not chunk:
            raise EOFError("the pool closed the request pipe")
        buf += chunk
    return bytes(buf)


def _read_frame():
    size, kind = _HEADER.unpack(_read_exact(_HEADER.size))
    return kind, _read_exact(size)


def _write_frame(kind, payload):
    data = memoryview(_HEADER.pack(len(payload), kind) + payload)
    while data:
        n = os.write(_OUT, data)
        data = data[n:]


def _send_error(code, message, tb="", missing=None):
    body = {"code": code, "message": message, "traceback": tb}
    if missing:
        body["missing"] = missing
    _write_frame(ord("E"), json.dumps(body).encode("utf-8"))


def _last_line(exc):
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _default(obj):
    """Encodes what scoring scripts commonly return beyond plain JSON."""
    mod = type(obj).__module__
    if mod.startswith("numpy"):
        if hasattr(obj, "tolist"):
            return obj.tolist()
    if mod.startswith("pandas"):
        if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
            return obj.to_dict(orient="records")
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if hasattr(obj, "isoformat"):
            return obj.isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _finite(obj):
    """Replaces NaN and infinities by None, as pandas' to_json writes null."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _to_json(result):
    try:
        return json.dumps(result, default=_default, allow_nan=False)
    except ValueError:
        # Out-of-range floats: encode once more with them as null.
        plain = json.loads(json.dumps(result, default=_default))
        return json.dumps(_finite(plain), allow_nan=False)


_UNSUPPORTED = ("inference_schema", "azureml")


def _missing_error(exc, what):
    name = (exc.name or "").split(".")[0]
    if name in _UNSUPPORTED:
        return ("init_failed",
                f"{what} imports {exc.name}: Hangar does not support the inference_schema decorators "
                f"(@input_schema, @output_schema) or azureml's @rawhttp; "
                f"run(raw_data) receives the request body as a string")
    return ("missing_packages",
            f"{what} needs the Python package {name!r}, which {sys.executable} cannot import "
            f"(Hangar never installs packages: install the Debian package that provides it)")


def _load_script(cfg):
    import importlib.util

    code_dir = cfg["code_dir"]
    path = os.path.join(code_dir, cfg["script"])
    sys.path.insert(0, code_dir)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for fn in ("init", "run"):
        if not callable(getattr(module, fn, None)):
            raise _Refused(f"the scoring script {cfg['script']} defines no {fn}() function")
    module.init()
    if cfg.get("batch"):
        return _batch_handler(module.run)

    def handle(body):
        # As Flask's get_data(as_text=True) under Azure's server: bytes that
        # are not UTF-8 become U+FFFD rather than an error.
        return _encode("run()", module.run(body.decode("utf-8", errors="replace")))

    return handle


def _batch_handler(run):
    try:
        import pandas as pd
    except ImportError:
        pd = None

    def handle(body):
        try:
            req = json.loads(body)
        except ValueError as exc:
            raise _BadRequest(f"the mini-batch is not JSON: {exc}")
        if "files" in req:
            mini_batch = req["files"]
        elif pd is not None:
            mini_batch = pd.DataFrame(req["data"], columns=req["columns"])
        else:
            mini_batch = [dict(zip(req["columns"], row)) for row in req["data"]]
        return _batch_encode(run(mini_batch))

    return handle


def _batch_encode(result):
    """Encodes what run(mini_batch) returned: one element per item it processed."""
    mod = type(result).__module__
    if mod.startswith("pandas") and hasattr(result, "columns") and hasattr(result, "to_json"):
        try:
            return result.to_json(orient="split", index=False, date_format="iso", default_handler=str)
        except Exception as exc:
            raise _NotJSON(f"run() returned a DataFrame that does not encode: {_last_line(exc)}")
    if mod.startswith(("numpy", "pandas")) and hasattr(result, "tolist"):
        result = result.tolist()
    if not isinstance(result, (list, tuple)):
        raise _NotJSON(f"run() returned {type(result).__name__}: return a list, a numpy array or a pandas "
                       f"DataFrame with one element per item it processed")
    return _encode("run()", {"values": list(result)})


class _Refused(Exception):
    pass


class _NotJSON(Exception):
    pass


def _encode(fn, result):
    try:
        return _to_json(result)
    except Exception as exc:
        raise _NotJSON(f"{fn} returned a value that is not JSON: {_last_line(exc)}")


class _BadRequest(Exception):
    pass


def _frame_from(body, pd):
    """Builds a DataFrame from an MLflow /invocations or Azure input_data body."""
    try:
        req = json.loads(body)
    except ValueError as exc:
        raise _BadRequest(f"the body is not JSON: {exc}")
    if not isinstance(req, dict):
        raise _BadRequest("the body must be a JSON object")
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs", "input_data") if k in req]
    if len(keys) != 1:
        raise _BadRequest("the body must hold exactly one of dataframe_split, dataframe_records, "
                          "instances, inputs, input_data")
    key = keys[0]
    data = req[key]
    params = req.get("params")
    try:
        if key == "dataframe_split" or (key == "input_data" and isinstance(data, dict) and "data" in data):
            if not isinstance(data, dict):
                raise _BadRequest(f"{key} must be an object with columns and data")
            df = pd.DataFrame(data=data.get("data"), columns=data.get("columns"), index=data.get("index"))
        elif key == "dataframe_records":
            if not isinstance(data, list):
                raise _BadRequest("dataframe_records must be a list of objects")
            df = pd.DataFrame.from_records(data)
        else:
            if not isinstance(data, (list, dict)):
                raise _BadRequest(f"{key} must be a list or an object")
            df = pd.DataFrame(data)
    except _BadRequest:
        raise
    except Exception as exc:
        raise _BadRequest(f"{key}: {_last_line(exc)}")
    return key, df, params


def _load_pyfunc(cfg):
    import importlib

    model_dir = cfg["model_dir"]
    code = cfg.get("code")
    if code:
        sys.path.insert(0, os.path.join(model_dir, code))
    import pandas as pd

    loader = importlib.import_module(cfg["loader_module"])
    data = cfg.get("data")
    model = loader._load_pyfunc(os.path.join(model_dir, data) if data else model_dir)

    def handle(body):
        key, df, params = _frame_from(body, pd)
        if params is not None:
            out = model.predict(df, params=params)
        else:
            out = model.predict(df)
        if key == "input_data":
            return _encode("predict()", out)
        return _encode("predict()", {"predictions": out})

    return handle


def main():
    cfg = json.loads(sys.argv[1])
    os.environ.setdefault("AZUREML_MODEL_DIR", cfg.get("model_dir", ""))
    what = "the scoring script" if cfg["mode"] == "script" else "the MLflow model"
    try:
        handle = _load_script(cfg) if cfg["mode"] == "script" else _load_pyfunc(cfg)
    except ModuleNotFoundError as exc:
        traceback.print_exc()
        code, msg = _missing_error(exc, what)
        _send_error(code, msg, traceback.format_exc(), [(exc.name or "").split(".")[0]])
        sys.exit(1)
    except _Refused as exc:
        _send_error("init_failed", str(exc))
        sys.exit(1)
    except BaseException as exc:
        traceback.print_exc()
        where = "init()" if cfg["mode"] == "script" else "loading the model"
        _send_error("init_failed", f"{where} raised {_last_line(exc)}", traceback.format_exc())
        sys.exit(1)
    sys.stderr.flush()
    _write_frame(ord("R"), json.dumps({"python": sys.version.split()[0], "pid": os.getpid()}).encode())
    while True:
        try:
            kind, body = _read_frame()
        except EOFError:
            return
        if kind != ord("Q"):
            _send_error("bad_request", f"unexpected frame kind {kind}")
            continue
        try:
            out = handle(body)
        except _BadRequest as exc:
            _send_error("bad_request", str(exc))
            continue
        except _NotJSON as exc:
            print(exc, file=sys.stderr)
            _send_error("script_error", str(exc))
            continue
        except BaseException as exc:
            traceback.print_exc()
            fn = "run()" if cfg["mode"] == "script" else "predict()"
            _send_error("script_error", f"{fn} raised {_last_line(exc)}", traceback.format_exc())
            continue
        finally:
            sys.stderr.flush()
        _write_frame(ord("O"), out.encode("utf-8"))


main()
