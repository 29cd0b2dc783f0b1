"""Measurement: answers on our question sets (`evaluate`), retrieval and answers on the
public sets (`public_sets`, with `datasets`, `scores` and `report`), and the time an
answer takes per backend (`latency`)."""
