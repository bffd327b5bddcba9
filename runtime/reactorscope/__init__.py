"""Reactor Scope's runtime: see what a Twisted reactor is doing and which callback blocks it.

Importing this package imports nothing from Twisted: the shim is loaded before the app, and an early
Twisted import would change which reactor the app gets.
"""

# Kept in step with the extension's package.json by runtime/tests/test_cli.py.
__version__ = "0.1.0"
