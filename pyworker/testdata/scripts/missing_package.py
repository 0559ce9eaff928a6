import not_a_real_package  # noqa: F401


def init():
    pass


def run(raw_data):
    return raw_data
