from inference_schema.schema_decorators import input_schema  # noqa: F401


def init():
    pass


def run(data):
    return data
