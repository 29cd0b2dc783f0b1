"""The reader: a small model, shipped with the code (`weights/`), that reads a question beside
a candidate sentence and says how likely the sentence answers it. `model` reads, `shipped`
checks and builds the shipped weights, `train` (with `data` and `figures`) trains them again.
"""
