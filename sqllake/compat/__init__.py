"""Adapters: every use of a dependency's private internals lives in one module per package.

Each adapter is pinned by a test of the behaviour it relies on (``tests/unit/test_compat.py``),
so an upgrade that changes an internal fails there first, not in a user's commit.
"""
