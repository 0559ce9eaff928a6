def init(:
    pass
