"""Benchmarks: sqllake beside DuckDB and PyIceberg on TPC-H lineitem (see README.md)."""
