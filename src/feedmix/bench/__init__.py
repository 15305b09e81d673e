"""Benchmarks: an open-loop HTTP load generator and the serving benchmark built on it.

``feedmix bench serving`` calls :func:`feedmix.bench.serving.run_serving_bench`; the load generator in
:mod:`feedmix.bench.load` is usable on its own for ad-hoc experiments.
"""
