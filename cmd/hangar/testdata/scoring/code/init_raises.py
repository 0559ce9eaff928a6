def init():
    raise RuntimeError("no model here")


def run(raw_data):
    return raw_data
