import os
import sys


def init():
    print("init: giving up", file=sys.stderr)
    os._exit(7)


def run(raw_data):
    return raw_data
