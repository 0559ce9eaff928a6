# train step
