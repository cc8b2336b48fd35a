"""A local stand-in for the platforms' servers (the only fake in the channel tests), recording every call.

- Slack Web API under ``/slack/api/<method>``: auth.test, chat.postMessage, chat.update, reactions.add,
  apps.connections.open (for Socket Mode: returns ``socket_url``).
- WeCom API under ``/wecom``: ``GET /cgi-bin/gettoken`` (issues ``TOKEN-<n>``, checks corp ID and secret),
  ``POST /cgi-bin/message/send`` (errcode 42001 for a token that was never issued or was expired with
  ``expire_wecom_tokens()``), and the group robot ``POST /cgi-bin/webhook/send?key=…``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    platform: str  # "slack" | "wecom"
    method: str  # "chat.postMessage", "gettoken", "message/send", "webhook/send", …
    query: dict
    body: dict
    headers: dict
    response: dict = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class FakePlatforms:
    def __init__(self, wecom_credentials: dict[str, str] | None = None) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.wecom_credentials = dict(wecom_credentials or {})  # corpsecret -> corpid
        self.wecom_tokens: set[str] = set()
        self.socket_url = ""
        self._ts = itertools.count(1)
        self._tokens = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    body = json.loads(raw)
                elif raw:
                    body = dict(parse_qsl(raw.decode()))
                else:
                    body = {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                if url.path.startswith("/slack/api/"):
                    method = url.path[len("/slack/api/") :]
                    reply = fake._slack(method, {**query, **body})
                    fake._record(Call("slack", method, query, body, headers, reply))
                    self._reply(reply)
                elif url.path.startswith("/wecom/cgi-bin/"):
                    method = url.path[len("/wecom/cgi-bin/") :]
                    reply = fake._wecom(method, query)
                    fake._record(Call("wecom", method, query, body, headers, reply))
                    self._reply(reply)
                else:
                    self.send_error(404)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ---- server ------------------------------------------------------------------------------------------------
    def start(self) -> FakePlatforms:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def slack_api_url(self) -> str:
        return self.url + "/slack/api/"

    @property
    def wecom_api_url(self) -> str:
        return self.url + "/wecom"

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    # ---- platform behaviour ---------------------------------------------------------------------------------
    def _slack(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://regqa-test.slack.com/",
                "team": "regqa-test",
                "user": "regqa",
                "team_id": "T0TEST",
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts, "thread_ts": args.get("thread_ts")},
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}
        if method == "reactions.add":
            return {"ok": True}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return {"ok": False, "error": "unknown_method"}

    def _wecom(self, method: str, query: dict) -> dict:
        if method == "gettoken":
            if self.wecom_credentials.get(query.get("corpsecret")) != query.get("corpid"):
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"TOKEN-{next(self._tokens)}"
            with self.lock:
                self.wecom_tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if method == "message/send":
            if query.get("access_token") not in self.wecom_tokens:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            return {"errcode": 0, "errmsg": "ok", "msgid": f"m{next(self._ts)}"}
        if method == "webhook/send":
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 404, "errmsg": "unknown api"}

    def expire_wecom_tokens(self) -> None:
        with self.lock:
            self.wecom_tokens.clear()

    # ---- reading what happened -----------------------------------------------------------------------------
    def find(self, platform: str, method: str, predicate=lambda call: True) -> list[Call]:
        with self.lock:
            calls = list(self.calls)
        return [c for c in calls if c.platform == platform and c.method == method and predicate(c)]

    def wait_for(
        self, platform: str, method: str, predicate=lambda call: True, count: int = 1, timeout: float = 30.0
    ) -> list[Call]:
        """Poll until at least ``count`` matching calls were recorded (AssertionError on timeout)."""
        deadline = time.time() + timeout
        while True:
            found = self.find(platform, method, predicate)
            if len(found) >= count:
                return found
            if time.time() > deadline:
                raise AssertionError(f"expected {count} {platform} {method} call(s), got {len(found)}")
            time.sleep(0.02)
