"""Channels that are off, the ``regqa slack`` command, and Socket Mode end to end (``regqa slack --socket`` as a
subprocess, against a local stand-in for Slack's Socket Mode WebSocket server)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from channel_support import LiveServer, mention, slack_event


@pytest.fixture(scope="module")
def plain_server(clean_index, answer_service):
    """The whole web app (UI included) with no channel settings at all."""
    from assistant.web import create_app

    server = LiveServer(create_app(clean_index.settings, service=answer_service)).start()
    yield server
    server.stop()


def test_channels_without_settings_are_off_and_the_app_runs(plain_server):
    for method in ("GET", "POST"):
        for path in ("/slack/events", "/wecom/callback"):
            r = httpx.request(method, plain_server.url + path, content=b"{}", timeout=10)
            assert r.status_code == 404, (method, path, r.text[:200])
            assert r.json()["error"]["message"] == "not found"  # generic: names no setting
    assert plain_server.channels.slack is None and plain_server.channels.wecom is None
    assert httpx.get(plain_server.url + "/healthz").status_code == 200
    r = httpx.post(
        plain_server.url + "/v1/ask", json={"question": "《生成式人工智能服务管理暂行办法》第十二条"}, timeout=60
    )
    assert r.status_code == 200 and r.json()["citations"]


def test_half_configured_channels_stay_off(clean_index, answer_service):
    from assistant.web import create_app

    settings = clean_index.settings.with_overrides(
        slack_bot_token="xoxb-only-the-token", wecom_corp_id="wwcorp", wecom_secret="s"
    )
    server = LiveServer(create_app(settings, service=answer_service, with_ui=False)).start()
    try:
        assert httpx.post(server.url + "/slack/events", content=b"{}").status_code == 404
        assert httpx.get(server.url + "/wecom/callback").status_code == 404
    finally:
        server.stop()


def test_the_bots_do_not_need_the_web_app(clean_index, cli_env):
    """Socket Mode runs without the web server: the bot and the service holder it makes import no HTTP app."""
    code = (
        "import sys; from assistant.channels.slack import socket_mode_handler; import assistant.channels.wecom; "
        "from common.settings import get_settings; handler = socket_mode_handler(get_settings()); "
        "print(sorted(m for m in sys.modules if m == 'assistant.web' or m.startswith(('assistant.web.', 'gradio'))))"
    )
    env = cli_env(clean_index.settings, REGQA_SLACK_BOT_TOKEN="xoxb-x", REGQA_SLACK_APP_TOKEN="xapp-x")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---- the command ----------------------------------------------------------------------------------------------------
def regqa_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("regqa")
    return [*([str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]), *args]


def test_slack_command_names_the_missing_settings(clean_index, cli_env):
    result = subprocess.run(
        regqa_command("slack", "--socket"),
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(clean_index.settings, REGQA_SLACK_BOT_TOKEN="xoxb-x"),
    )
    assert result.returncode == 2
    assert "REGQA_SLACK_APP_TOKEN" in result.stderr and "xoxb-x" not in result.stderr


class FakeSocketModeServer:
    """Slack's Socket Mode side: a WebSocket that sends envelopes and collects the client's acknowledgements."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.ws = None
        self.server = serve(self._handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=test"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self, ws) -> None:
        self.ws = ws
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0TEST"},
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                }
            )
        )
        self.connected.set()
        try:
            for message in ws:
                self.acks.put(json.loads(message))
        except Exception:
            pass

    def send_event(self, payload: dict, envelope_id: str, retry_attempt: int = 0) -> None:
        self.ws.send(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": "events_api",
                    "payload": payload,
                    "accepts_response_payload": False,
                    "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else "",
                }
            )
        )

    def ack(self, envelope_id: str, timeout: float = 30) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                message = self.acks.get(timeout=0.2)
            except queue.Empty:
                continue
            if message.get("envelope_id") == envelope_id:
                return message
        raise AssertionError(f"no acknowledgement for {envelope_id}")

    def stop(self) -> None:
        self.server.shutdown()


def test_socket_mode_answers_in_the_thread(clean_index, cli_env, fake, tmp_path):
    socket_server = FakeSocketModeServer()
    fake.socket_url = socket_server.url
    env = cli_env(
        clean_index.settings,
        REGQA_SLACK_BOT_TOKEN="xoxb-socket-bot",
        REGQA_SLACK_APP_TOKEN="xapp-socket-app",
        REGQA_SLACK_API_URL=fake.slack_api_url,
    )
    log_file = (tmp_path / "regqa-slack.log").open("w")
    process = subprocess.Popen(regqa_command("slack", "--socket"), env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        if not socket_server.connected.wait(timeout=60):
            process.kill()
            raise AssertionError(
                "regqa slack --socket did not connect: " + (tmp_path / "regqa-slack.log").read_text()[-2000:]
            )
        opened = fake.find("slack", "apps.connections.open")
        assert opened and opened[-1].headers["authorization"] == "Bearer xapp-socket-app"

        event = mention("《生成式人工智能服务管理暂行办法》第十二条规定了什么？", channel="CSOCKET", user="USOCK")
        payload = slack_event(event)
        socket_server.send_event(payload, "env-1")
        assert socket_server.ack("env-1")  # acknowledged over the socket
        (update,) = fake.wait_for("slack", "chat.update", lambda c: c.body.get("channel") == "CSOCKET", timeout=120)
        assert (
            "<https://www.cac.gov.cn/2023-07/13/c_1690898327029107.htm|《生成式人工智能服务管理暂行办法》第十二条>"
            in update.body["text"]
        )
        (thinking,) = fake.find("slack", "chat.postMessage", lambda c: c.body.get("channel") == "CSOCKET")
        assert thinking.body["thread_ts"] == event["ts"] and update.body["ts"] == thinking.response["ts"]
        assert thinking.headers["authorization"] == "Bearer xoxb-socket-bot"

        socket_server.send_event(payload, "env-2", retry_attempt=1)  # Slack redelivers the same event
        assert socket_server.ack("env-2")
        marker = mention("深度合成服务提供者的标识义务", channel="CSOCKET2", user="USOCK")
        socket_server.send_event(slack_event(marker), "env-3")
        fake.wait_for("slack", "chat.update", lambda c: c.body.get("channel") == "CSOCKET2", timeout=60)
        assert len(fake.find("slack", "chat.postMessage", lambda c: c.body.get("channel") == "CSOCKET")) == 1
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()
        socket_server.stop()
