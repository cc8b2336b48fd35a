"""A real web server for tests: uvicorn in a thread on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int | None = None):
        import uvicorn

        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 120) -> LiveServer:
        self.thread.start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def channels(self):
        """The chat channels' state (assistant.channels) of the app this server runs."""
        return self.app.state.channels


def private_server(tmp_path, clean_index, settings_factory, **overrides) -> LiveServer:
    """A server on a private copy of the small-corpus index (for tests that add or remove documents)."""
    import shutil

    from assistant.web import create_app

    shutil.copytree(clean_index.settings.index_dir, tmp_path / "index")
    settings = settings_factory(tmp_path, clean_index.corpus_dir, **overrides)
    return LiveServer(create_app(settings)).start()
