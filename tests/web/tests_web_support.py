"""Kept for imports in other test folders: the live server lives in tests/support/live_server.py."""

from support.live_server import LiveServer, free_port, private_server  # noqa: F401
