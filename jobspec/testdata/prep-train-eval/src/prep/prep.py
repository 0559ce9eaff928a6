# prep step
