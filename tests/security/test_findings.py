"""The holes found by attacking a running server, one test per finding (each fails without its fix)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from chat.models import ApiToken, ChatModel, Message
from config.asgi import application
from tests.conftest import post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]

ROOT = Path(__file__).resolve().parents[2]
AUDIO = ROOT / "tests" / "fixtures" / "audio"


def audio(name: str) -> io.BytesIO:
    upload = io.BytesIO((AUDIO / name).read_bytes())
    upload.name = name
    return upload


def staff_with(*codenames: str, username: str = "narrow") -> Client:
    """A signed-in staff member holding only these permissions."""
    staff = get_user_model().objects.create_user(username, password="pw-narrow-1", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


# 1. Transcription models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["/etc/passwd", str(AUDIO / "capital.wav"), "faster-whisper:/tmp", "large-v3", "openai-whisper:medium",
              "Systran/faster-whisper-large-v3", "faster-whisper:openai/whisper-tiny"],
)  # fmt: skip
async def test_transcription_model_outside_the_offered_list_is_refused(api, model):
    response = await api.post("/v1/audio/transcriptions", {"model": model, "file": audio("capital.wav")})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and "whisper-1" in error["message"]


def test_engines_load_only_offered_models():
    from voice.exceptions import TranscriptionUnavailable
    from voice.transcription.registry import get_engine

    for model in ("/etc/passwd", "large-v3", str(AUDIO / ".." / "audio" / "capital.wav")):
        with pytest.raises(TranscriptionUnavailable) as refused:
            get_engine("faster-whisper", model)
        assert refused.value.status == 400


async def test_transcriptions_count_against_the_turn_limits(api, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 1
    first = await api.post("/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("silence.wav")})
    assert first.status_code == 400 and first.json()["error"]["code"] == "no_speech"
    second = await api.post("/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("silence.wav")})
    assert second.status_code == 429 and second["Retry-After"]


# 3. Chat model connection fields ------------------------------------------------------------------------


def model_form(chat_model: ChatModel, **changes) -> dict:
    form = {"name": chat_model.name, "provider": chat_model.provider, "base_url": chat_model.base_url,
            "upstream_model": chat_model.upstream_model, "api_key_env": chat_model.api_key_env,
            "local_path": chat_model.local_path, "system_prompt": "", "temperature": "0.7", "max_tokens": "",
            "is_active": "on"}  # fmt: skip
    return {**form, **changes}


def test_changing_a_models_connection_needs_the_connection_permission(chat_model):
    client = staff_with("change_chatmodel", "view_chatmodel")
    url, base_url = f"/admin/chat/chatmodel/{chat_model.pk}/change/", chat_model.base_url
    page = client.get(url)
    assert page.status_code == 200 and 'name="base_url"' not in page.content.decode()
    response = client.post(url, model_form(chat_model, base_url="http://127.0.0.1:9100/v1",
                                           api_key_env="DJANGO_SECRET_KEY", system_prompt="changed"))  # fmt: skip
    assert response.status_code == 302
    chat_model.refresh_from_db()
    assert chat_model.system_prompt == "changed"  # what the permission does allow
    assert chat_model.api_key_env == "" and chat_model.base_url == base_url


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("api_key_env", "DJANGO_SECRET_KEY", False),
        ("api_key_env", "PATH", False),
        ("api_key_env", "LLM_KEY_OPENAI", True),
        ("api_key_env", "OPENAI_API_KEY", True),
        ("base_url", "file:///etc/passwd", False),
        ("base_url", "gopher://127.0.0.1:70/", False),
        ("base_url", "https://api.example.com/v1", True),
        ("base_url", "http://ollama:11434/v1", True),
        ("base_url", "http://:80/v1", False),
    ],
)
def test_connection_fields_are_validated(chat_model, field, value, ok):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    response = client.post(f"/admin/chat/chatmodel/{chat_model.pk}/change/", model_form(chat_model, **{field: value}))
    assert (response.status_code == 302) is ok
    chat_model.refresh_from_db()
    assert (getattr(chat_model, field) == value) is ok


async def test_a_model_row_naming_a_forbidden_variable_sends_no_key(api, chat, llm, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "the-real-secret")
    await ChatModel.objects.filter(pk=chat.chat_model_id).aupdate(api_key_env="DJANGO_SECRET_KEY")  # around the admin
    events, _ = await read_stream(await post_turn(api, chat))
    assert [e["type"] for e in events][-2:] == ["error", "stream_end"]
    assert events[-2]["code"] == "api_key_env_refused"
    assert not any("the-real-secret" in str(r.headers) for r in llm.requests)
    assert await Message.objects.filter(chat=chat, role="user").aexists()  # the message is kept


# 4. API tokens ------------------------------------------------------------------------------------------


def test_staff_who_may_add_tokens_mint_them_only_for_themselves():
    boss = get_user_model().objects.create_superuser("boss", password="pw")
    client = staff_with("add_apitoken", "view_apitoken")
    response = client.post("/admin/chat/apitoken/add/", {"user": boss.pk, "name": "mine now"})
    assert response.status_code == 302
    token = ApiToken.objects.get(name="mine now")
    assert token.user.username == "narrow"
    assert not ApiToken.objects.filter(user=boss).exists()


def test_superusers_may_mint_tokens_for_others(user):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw"))
    assert client.post("/admin/chat/apitoken/add/", {"user": user.pk, "name": "for alice"}).status_code == 302
    assert ApiToken.objects.get(name="for alice").user == user


# 6. Websocket origins -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [(b"http://127.0.0.1:8000", b"127.0.0.1:8000", True), (b"http://127.0.0.1:9999", b"127.0.0.1:8000", False),
     (b"https://localhost", b"localhost:8000", False), (b"http://localhost:8000", b"localhost:8000", True),
     (b"http://evil.example:8000", b"evil.example:8000", False), (b"null", b"127.0.0.1:8000", False)],
)  # fmt: skip
async def test_websocket_origin_must_match_scheme_host_and_port(chat, token, origin, host, accepted):
    ws = WebsocketCommunicator(application, f"/ws/chats/{chat.public_id}/?token={token}",
                               headers=[(b"origin", origin), (b"host", host)])  # fmt: skip
    connected, _ = await ws.connect()
    assert connected is accepted
    await ws.disconnect()


async def test_websocket_trusted_origins_behind_a_proxy(chat, token, settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    ws = WebsocketCommunicator(
        application,
        f"/ws/chats/{chat.public_id}/?token={token}",
        headers=[(b"origin", b"https://chat.example.com"), (b"host", b"chat.example.com")],
    )
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


# 8. Input that gave 500s --------------------------------------------------------------------------------


async def test_deeply_nested_json_is_a_400(api, chat):
    deep = b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path in ("/api/chat?stream=true", "/v1/chat/completions", "/api/chats"):
        response = await api.post(path, deep, content_type="application/json")
        assert response.status_code == 400, path
        assert "nested too deeply" in response.json()["error"]["message"]


async def test_unknown_language_is_a_400_on_both_voice_endpoints(api, chat):
    fields = {"chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id, "language": "zz"}
    turn = await api.post("/api/chat/voice", {"audio": audio("capital.wav"), **fields})
    v1 = await api.post(
        "/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("capital.wav"), "language": "zz"}
    )
    for response in (turn, v1):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_language"
    assert not await Message.objects.filter(chat=chat).aexists()


async def test_an_overlong_chat_id_on_the_websocket_is_refused(token):
    ws = WebsocketCommunicator(
        application,
        f"/ws/chats/ci_{'a' * 300}/?token={token}",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_a_title_with_nul_is_a_400(api, chat):
    response = await api.patch(f"/api/chats/{chat.public_id}", {"title": "a\x00b"}, content_type="application/json")
    assert response.status_code == 400 and "NUL" in response.json()["error"]["message"]


def test_an_oversized_json_body_is_refused_before_it_is_read(uvicorn_server, token):
    """50 MB announced by Content-Length: a JSON 413 comes back while the body has not been sent."""
    for path in ("/api/chat", "/v1/chat/completions"):
        with socket.create_connection(("127.0.0.1", uvicorn_server.port), timeout=5) as conn:
            conn.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {50_000_000}\r\n\r\n{{".encode()
            )
            response = b""
            while chunk := conn.recv(4096):
                response += chunk
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), path
        assert b"application/json" in head and b"too large" in body


# 9. Limits on /v1 ---------------------------------------------------------------------------------------


async def test_v1_stateless_requests_keep_the_message_limits(api, chat_model, llm, settings):
    long = [{"role": "user", "content": "x" * (settings.CHAT_MAX_MESSAGE_CHARS + 1)}]
    many = [{"role": "user", "content": "hi"}] * (settings.CHAT_MAX_REQUEST_MESSAGES + 1)
    settings.CHAT_MAX_REQUEST_CHARS = 1000
    big = [{"role": "user", "content": "y" * 600}, {"role": "assistant", "content": "ok"},
           {"role": "user", "content": "z" * 600}]  # fmt: skip
    for messages, words in ((long, "too long"), (many, "Too many messages"), (big, "too long together")):
        body = {"model": "test-model", "messages": messages}
        response = await api.post("/v1/chat/completions", body, content_type="application/json")
        assert response.status_code == 400 and words in response.json()["error"]["message"]
    assert llm.chat_requests == []


# 10. A sqlite DATABASE_URL ------------------------------------------------------------------------------


def settings_in_child(**env: str) -> dict:
    """The settings a fresh process computes from this environment."""
    code = (
        "import json, config.settings as s; d = s.DATABASES['default']; "
        "print(json.dumps({'options': d.get('OPTIONS', {}), 'age': d.get('CONN_MAX_AGE'), "
        "'threads': s.DB_THREADS, 'https': [getattr(s, n, None) for n in ('SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER')]}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**base, "DJANGO_SECRET_KEY": "x" * 50, **env})  # fmt: skip
    return json.loads(out.stdout)


def test_a_sqlite_database_url_gets_the_sqlite_settings(tmp_path):
    url = settings_in_child(DATABASE_URL=f"sqlite:///{tmp_path}/chat.sqlite3")
    path = settings_in_child(SQLITE_PATH=str(tmp_path / "chat.sqlite3"))
    assert url == path
    assert url["options"]["transaction_mode"] == "IMMEDIATE" and "journal_mode=WAL" in url["options"]["init_command"]
    assert url["threads"] == 1 and url["age"] is None


# Hardening ----------------------------------------------------------------------------------------------


def test_pages_send_a_content_security_policy_and_permissions_policy(user):
    client = Client()
    login = client.get("/accounts/login/")
    client.force_login(user)
    home = client.get("/", follow=True)
    for response in (login, home):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response["Permissions-Policy"].startswith("microphone=(self)")
    assert client.get("/healthz")["Permissions-Policy"]


def test_https_setting_turns_on_hsts_redirects_and_secure_cookies():
    assert settings_in_child(DJANGO_HTTPS="1")["https"] == [
        True, 31_536_000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]  # fmt: skip
    assert settings_in_child()["https"] == [None, None, False, False, None]


def test_https_behind_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    client = Client()
    assert client.get("/accounts/login/").status_code == 301  # plain HTTP is sent to HTTPS
    assert client.get("/healthz").status_code == 200  # a load balancer's health check is not
    secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200 and secure["Strict-Transport-Security"] == "max-age=3600"


def test_the_secret_key_file_is_readable_by_its_owner_only(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    first = subprocess.run([ROOT / "scripts" / "secret_key.sh", key_file], capture_output=True, text=True, check=True)
    assert len(first.stdout.strip()) > 50 and key_file.stat().st_mode & 0o777 == 0o600
    key_file.chmod(0o644)  # made by an older version
    again = subprocess.run([ROOT / "scripts" / "secret_key.sh", key_file], capture_output=True, text=True, check=True)
    assert again.stdout == first.stdout and key_file.stat().st_mode & 0o777 == 0o600


def test_websocket_tokens_stay_out_of_the_server_log(uvicorn_server, chat, token):
    import asyncio

    import websockets

    async def connect() -> None:
        url = f"ws://127.0.0.1:{uvicorn_server.port}/ws/chats/{chat.public_id}/?token={token}"
        async with websockets.connect(url) as ws:
            await ws.send("ping")
            assert await ws.recv() == "pong"

    asyncio.run(connect())
    log = uvicorn_server.log_path.read_text()
    assert chat.public_id in log and "token=[redacted]" in log
    assert token not in log


def test_redaction_filter():
    from config.logs import redact

    assert redact('"WebSocket /ws/chats/ci_1/?after=3&token=tok_abc" [accepted]') == (
        '"WebSocket /ws/chats/ci_1/?after=3&token=[redacted]" [accepted]')  # fmt: skip
