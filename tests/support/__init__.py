"""Shared test support (importable as ``support``: tests/conftest.py puts tests/ on sys.path)."""
