# evaluate step
