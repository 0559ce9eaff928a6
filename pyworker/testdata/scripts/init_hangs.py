import time


def init():
    while True:
        time.sleep(1)


def run(raw_data):
    return raw_data
