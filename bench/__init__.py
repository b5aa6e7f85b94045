"""Benchmarks: Modelyard against registry:2 on the same machine, storage kind and client.

Run `python -m bench --help`. DESIGN.md, "Benchmarks", says what is measured and why.
"""
