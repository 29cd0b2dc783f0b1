"""`make bench`: speed and memory of indexing, search, answers, load and bulk ingest, each
figure measured beside its peer in the same run (ratios, never timed assertions in tests).

`python -m service.measure.bench [indexing|search|load|bulk|scale|all]`; results are printed
and written to `bench/results/<part>.json`. See README, "Speed and memory".
"""
