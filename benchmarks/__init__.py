"""Reproducible speed comparison of ghl_async with other HighLevel clients.

Run `make bench` or `python -m benchmarks --help`. Not collected by pytest; the smoke test in
tests/test_benchmarks_smoke.py runs `python -m benchmarks --quick`.
"""
