"""Local stand-ins for Okta and QuickSight that speak the real wire protocols.

Tests, the demo, the scenario harness and the benchmarks run the product's
real clients against these over HTTP on loopback.
"""
