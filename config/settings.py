"""Settings, grouped by area under ``# --- Area`` headings. Everything a deployment changes comes from
environment variables with working defaults; docs/configuration.md lists every variable, by the same areas.

Out of the box: SQLite (WAL) and the in-memory channel layer. In production: ``DATABASE_URL`` (PostgreSQL)
and ``REDIS_URL`` (channels_redis and the cache). Only the standard library, Django, dj-database-url and
``config/`` are imported here, never the product's code. A benchmark that needs other settings has its own
settings module under ``bench/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str
from config.redis import client_options

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Django core and security -----------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(scripts/serve.sh makes one for local use), or set DJANGO_DEBUG=1 for development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
VAR_DIR = Path(env_str("APP_VAR_DIR", str(BASE_DIR / "var")))

# The inline middleware copies (config.compat) stand for Django's; config.checks runs the deploy checks
# that depend on them and reports these three as config.W00N when the middleware really is missing.
# W005 and W021 (HSTS for subdomains, HSTS preload) are choices about the operator's other sites: see
# DJANGO_HSTS_INCLUDE_SUBDOMAINS and DJANGO_HSTS_PRELOAD.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003", "security.W005", "security.W021"]

INSTALLED_APPS = [
    "daphne",
    "config.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chat",
    "voice",
    "insights",
    "audit",
]

# Django's own middleware, in versions that do not hop to a thread on every async request.
MIDDLEWARE = [
    "config.compat.middleware.SecurityMiddleware",
    "config.compat.middleware.SessionMiddleware",
    "config.compat.middleware.CommonMiddleware",
    "config.compat.middleware.CsrfViewMiddleware",
    "config.compat.middleware.AuthenticationMiddleware",
    "config.compat.middleware.MessageMiddleware",
    "config.compat.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
# Messages (the admin's "saved" notices) live in the session. Django's default storage tries a signed cookie
# first and builds its signer on every request, API calls included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Behind an HTTPS proxy (DJANGO_HTTPS=1): the proxy's X-Forwarded-Proto is trusted, plain HTTP is redirected
# (health checks excepted), browsers are told to use HTTPS only (HSTS), and cookies are marked Secure.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    # Whether every subdomain is HTTPS too, and the browsers' preload list, are the operator's to decide
    # (both are hard to take back); Django's deploy check asks for them (W005, W021), silenced above.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = HTTPS or env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The proxies whose X-Forwarded-For is believed (addresses or networks, e.g. 127.0.0.1 for an nginx on the
# same machine). Without them every client behind a proxy would share the proxy's address for the sign-in
# limit.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# Serve /static/ from the ASGI app itself; turn off when a reverse proxy serves STATIC_ROOT.
SERVE_STATIC = env_bool("SERVE_STATIC", True)


# --- Database ---------------------------------------------------------------------------------------
# SQLite runs in WAL mode with a busy timeout and IMMEDIATE transactions, so concurrent writers queue
# instead of failing with "database is locked". A ``sqlite://`` DATABASE_URL gets the same settings.
def sqlite_database(path: str | Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # SQLite connections are cheap to keep and costly to reopen (the PRAGMAs run each time).
        "CONN_MAX_AGE": None,
    }


SQLITE_PATH = Path(env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")))
DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {"default": sqlite_database(SQLITE_PATH)}
if DATABASE_URL:
    _parsed = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    if _parsed["ENGINE"] == "django.db.backends.sqlite3":
        if not _parsed["NAME"] or _parsed["NAME"] == ":memory:":
            raise ImproperlyConfigured(
                "DATABASE_URL names an in-memory SQLite database, which each database thread would see empty. "
                "Use sqlite:////absolute/path.sqlite3, or leave DATABASE_URL unset for var/db.sqlite3."
            )
        DATABASES = {"default": sqlite_database(_parsed["NAME"])}
    else:
        DATABASES = {"default": _parsed}
        if _parsed["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
            # Async views hop between threads; a pool hands connections back at the end of each request
            # instead of keeping one per thread.
            _parsed.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 20),
                "timeout": env_float("DB_POOL_TIMEOUT", 10.0),
            }
USING_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# Threads that run ORM work for async views and consumers (see chat/domain/db.py). SQLite takes one writer
# at a time and makes the others sleep in its busy handler (1 ms, 2 ms, 5 ms...): one thread that queues the
# work in order starts turns several times faster under load than four that take turns at the lock.
DB_THREADS = env_int("DB_THREADS", 1 if USING_SQLITE else 4)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels, Redis and the cache ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# The channel of each process's websocket hub (chat.ws.hub) carries every chat's pushes for the process: the
# in-memory layer (and the list-based one of bench/settings_list_layer.py) give it room; pub/sub takes no
# capacity.
_HUB_CAPACITY = {"chathub*": 100_000}
# Connections per process and pool. redis-py's default (100, failing when exceeded) is too few for a burst
# of websocket connects; each one joins a group and reads a live snapshot.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 1000)
if REDIS_URL:
    # channels_redis's pub/sub layer: one publish per group message, which each process receives once.
    # (bench/fanout.py also measures its list-based layer, through bench/settings_list_layer.py.)
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        # Above redis-py 8's default read timeout (5 s): the list-based layer, which the
                        # benchmark runs on these hosts, waits for messages with a 5 s BZPOPMIN, and every
                        # quiet websocket would die after 5 s.
                        "socket_timeout": 30,
                        **client_options(),
                    }
                ]
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": client_options(),
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.compat.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000, "channel_capacity": _HUB_CAPACITY},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Realtime: the turn event log and running replies -----------------------------------------------
# The realtime backend: the turn event log, shared by every process with Redis (see chat/realtime/).
REALTIME_BACKEND = env_str("REALTIME_BACKEND", "redis" if REDIS_URL else "memory")
# Seconds a finished turn's event log stays readable (GET event stream, websocket replay).
REALTIME_LOG_TTL = env_int("REALTIME_LOG_TTL", 300)
# A reply still streaming whose process has not said it is alive for this long is finished as interrupted by
# any live process (the reaper runs every third of this).
REALTIME_ORPHAN_SECONDS = env_float("REALTIME_ORPHAN_SECONDS", 30.0)
REALTIME_REAPER = env_bool("REALTIME_REAPER", True)

# Seconds running replies get to finish after SIGTERM before they are stopped and saved as interrupted.
SHUTDOWN_GRACE_SECONDS = env_float("SHUTDOWN_GRACE_SECONDS", 30.0)

# --- Chat and request limits ------------------------------------------------------------------------
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 32_000)
# What one request may bring at most (the OpenAI-compatible API sends whole conversations).
CHAT_MAX_REQUEST_MESSAGES = env_int("CHAT_MAX_REQUEST_MESSAGES", 1000)
CHAT_MAX_REQUEST_CHARS = env_int("CHAT_MAX_REQUEST_CHARS", 400_000)
# Request bodies other than audio uploads; larger ones are refused by Content-Length before they are read.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 4 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Imports of another service's export (POST /api/imports, manage.py import_chats): the largest file (its upload,
# or its conversations unpacked from a zip), conversations in it, messages in one, characters in a message.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 200_000_000)
IMPORT_MAX_CHATS = env_int("IMPORT_MAX_CHATS", 20_000)
IMPORT_MAX_MESSAGES = env_int("IMPORT_MAX_MESSAGES", 10_000)
IMPORT_MAX_MESSAGE_CHARS = env_int("IMPORT_MAX_MESSAGE_CHARS", 1_000_000)
# Seconds of silence on an SSE stream before a ": keep-alive" comment goes out.
CHAT_HEARTBEAT_SECONDS = env_float("CHAT_HEARTBEAT_SECONDS", 15.0)
# Longest life of one GET event stream connection (EventSource reconnects with Last-Event-ID).
CHAT_EVENTS_MAX_SECONDS = env_float("CHAT_EVENTS_MAX_SECONDS", 300.0)
# How many prior messages of a conversation are sent upstream as history.
CHAT_HISTORY_LIMIT = env_int("CHAT_HISTORY_LIMIT", 50)

# --- Rate limits ------------------------------------------------------------------------------------
# Per user and per API token; 0 turns a limit off.
RATE_LIMIT_TURNS_PER_MINUTE = env_int("RATE_LIMIT_TURNS_PER_MINUTE", 30)
RATE_LIMIT_CONCURRENT_STREAMS = env_int("RATE_LIMIT_CONCURRENT_STREAMS", 4)
# Conversation-mode sockets one user may have open at once (each transcribes and may ask the model early).
RATE_LIMIT_VOICE_SOCKETS = env_int("RATE_LIMIT_VOICE_SOCKETS", 2)
# Failed sign-ins per minute, counted per client address and per username, on every sign-in form.
RATE_LIMIT_LOGINS_PER_MINUTE = env_int("RATE_LIMIT_LOGINS_PER_MINUTE", 10)

# --- Tools and MCP ----------------------------------------------------------------------------------
# Tools (chat/tools/). A turn calls the model at most CHAT_MAX_TOOL_STEPS times with tools, then once more
# without. Each call has TOOLS_TIMEOUT seconds, and the model gets at most TOOLS_MAX_OUTPUT_BYTES of its result.
CHAT_MAX_TOOL_STEPS = env_int("CHAT_MAX_TOOL_STEPS", 5)
TOOLS_TIMEOUT = env_float("TOOLS_TIMEOUT", 20.0)
TOOLS_MAX_OUTPUT_BYTES = env_int("TOOLS_MAX_OUTPUT_BYTES", 16 * 1024)
# fetch_url refuses private, loopback and link-local addresses except on these hosts (exact names).
TOOLS_FETCH_ALLOWED_HOSTS = env_list("TOOLS_FETCH_ALLOWED_HOSTS")
TOOLS_FETCH_MAX_BYTES = env_int("TOOLS_FETCH_MAX_BYTES", 2 * 1024 * 1024)
TOOLS_FETCH_TIMEOUT = env_float("TOOLS_FETCH_TIMEOUT", 10.0)
# MCP servers: how long to wait for one to start or answer a listing, how often tool lists are re-read, and
# how soon an unreachable server is tried again.
MCP_CONNECT_TIMEOUT = env_float("MCP_CONNECT_TIMEOUT", 10.0)
MCP_TOOLS_REFRESH_SECONDS = env_float("MCP_TOOLS_REFRESH_SECONDS", 300.0)
MCP_RETRY_SECONDS = env_float("MCP_RETRY_SECONDS", 30.0)

# --- LLM providers and the local model --------------------------------------------------------------
# Upstream LLM servers (OpenAI-compatible).
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
OPENAI_MODEL = env_str("OPENAI_MODEL", "")
LLM_CONNECT_TIMEOUT = env_float("LLM_CONNECT_TIMEOUT", 10.0)
# Longest wait for any read from the upstream, including the first token of a slow model.
LLM_READ_TIMEOUT = env_float("LLM_READ_TIMEOUT", 120.0)
LLM_MAX_CONNECTIONS = env_int("LLM_MAX_CONNECTIONS", 1000)
# Which environment variables a chat model may read its API key from: names with this prefix, and the ones
# listed. Django's own (DJANGO_*) never, whatever these say.
LLM_KEY_ENV_PREFIX = env_str("LLM_KEY_ENV_PREFIX", "LLM_KEY_")
LLM_KEY_ENV_ALLOWED = env_list("LLM_KEY_ENV_ALLOWED", "OPENAI_API_KEY")
LLM_PROVIDERS = {
    "openai": "chat.llm.openai.OpenAIProvider",
    "local": "chat.llm.local.LocalProvider",
}
# Store stateless /v1/chat/completions requests (no session_id) as conversations too.
OPENAI_API_LOG_CONVERSATIONS = env_bool("OPENAI_API_LOG_CONVERSATIONS", False)

# The local model (llama.cpp, in process).
LOCAL_LLM_PATH = env_str("LOCAL_LLM_PATH")  # a GGUF file; blank: the default model from its PyPI packages
LOCAL_LLM_CACHE_DIR = Path(env_str("LOCAL_LLM_CACHE_DIR", str(VAR_DIR / "models")))
LOCAL_LLM_THREADS = env_int("LOCAL_LLM_THREADS", os.cpu_count() or 2)
LOCAL_LLM_CONTEXT = env_int("LOCAL_LLM_CONTEXT", 4096)  # tokens per reply (prompt and answer)
# The context an upstream model takes (prompt and answer) when its admin row does not say: history beyond it
# is trimmed, oldest first (chat/domain/context.py).
LLM_DEFAULT_CONTEXT = env_int("LLM_DEFAULT_CONTEXT", 32768)
# Replies the local model generates together; one more waits for a slot. The KV cache holds
# LOCAL_LLM_PARALLEL x LOCAL_LLM_CONTEXT tokens (12 KB each for the bundled model: 192 MB at 4 x 4096).
LOCAL_LLM_PARALLEL = env_int("LOCAL_LLM_PARALLEL", 4)
LOCAL_LLM_REPEAT_PENALTY = env_float("LOCAL_LLM_REPEAT_PENALTY", 1.1)
# Load the default local model when the server starts, so the first turn does not wait for it.
LOCAL_LLM_PRELOAD = env_bool("LOCAL_LLM_PRELOAD", False)

# --- Speech: transcription --------------------------------------------------------------------------
# Uploads always go to a temporary file, which the decoder reads; nothing large sits in memory.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
VOICE_MAX_UPLOAD_BYTES = env_int("VOICE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
VOICE_MAX_SECONDS = env_float("VOICE_MAX_SECONDS", 300.0)
VOICE_DECODE_TIMEOUT = env_float("VOICE_DECODE_TIMEOUT", 30.0)
# Speech recognition: "openai-whisper" (default), "faster-whisper", or "openai" (a server: STT_* below).
WHISPER_ENGINE = env_str("WHISPER_ENGINE", "openai-whisper")
# "base" and "tiny.en" ship with the project; any openai-whisper model name or .pt path (or, for
# faster-whisper, a CTranslate2 folder) also works where the weights can be had.
WHISPER_MODEL = env_str("WHISPER_MODEL", "base")
WHISPER_CACHE_DIR = Path(env_str("WHISPER_CACHE_DIR", str(VAR_DIR / "models" / "whisper")))
WHISPER_THREADS = env_int("WHISPER_THREADS", os.cpu_count() or 2)
WHISPER_BEAM_SIZE = env_int("WHISPER_BEAM_SIZE", 1)
# Automatic language detection chooses only among these codes (e.g. "en,fr,de"); blank: any language.
WHISPER_LANGUAGES = env_list("WHISPER_LANGUAGES")
# Conversation mode's transcription, which must keep up with a person talking. Transcribing locally with no
# language other than English listed in WHISPER_LANGUAGES: faster-whisper tiny.en (about 0.4 s for an
# utterance on 2 cores, against 1.6 s for the multilingual base model). Otherwise WHISPER_ENGINE's model.
_LOCAL_ENGLISH = WHISPER_ENGINE != "openai" and set(WHISPER_LANGUAGES) <= {"en"}
VOICE_WHISPER_ENGINE = env_str("VOICE_WHISPER_ENGINE", "faster-whisper" if _LOCAL_ENGLISH else WHISPER_ENGINE)
VOICE_WHISPER_MODEL = env_str("VOICE_WHISPER_MODEL", "tiny.en" if _LOCAL_ENGLISH else "")  # blank: the default
# The models clients may ask for by name (the default models are always among them). Nothing else is loaded.
WHISPER_MODELS = list(
    dict.fromkeys([WHISPER_MODEL, *([VOICE_WHISPER_MODEL] if VOICE_WHISPER_MODEL else []),
                   *env_list("WHISPER_MODELS", "base,tiny.en")])
)  # fmt: skip
TRANSCRIPTION_ENGINES = {
    "openai-whisper": "voice.transcription.openai_whisper.OpenAIWhisperEngine",
    "faster-whisper": "voice.transcription.faster.FasterWhisperEngine",
    "openai": "voice.transcription.remote.RemoteTranscriptionEngine",
}
# WHISPER_ENGINE=openai: any OpenAI-compatible /v1/audio/transcriptions server (speaches, LocalAI, OpenAI…).
STT_BASE_URL = env_str("STT_BASE_URL")
STT_MODEL = env_str("STT_MODEL", "whisper-1")
STT_API_KEY_ENV = env_str("STT_API_KEY_ENV")

# --- Conversation mode ------------------------------------------------------------------------------
# /ws/chats/<ci>/voice/: silence that ends a turn; speech over the reply that stops it;
# the start of playback during which that speech must last twice as long.
VOICE_SILENCE_MS = env_int("VOICE_SILENCE_MS", 600)
VOICE_BARGE_IN_MS = env_int("VOICE_BARGE_IN_MS", 300)
VOICE_PLAYBACK_GRACE_MS = env_int("VOICE_PLAYBACK_GRACE_MS", 300)

# --- Speech: synthesis ------------------------------------------------------------------------------
# voice/synthesis/: "piper" (default; espeak-ng when piper is not installed), "espeak-ng",
# or "openai" (any OpenAI-compatible /v1/audio/speech server at TTS_BASE_URL).
TTS_ENGINE = env_str("TTS_ENGINE", "piper")
TTS_ENGINES = {
    "piper": "voice.synthesis.piper.PiperEngine",
    "espeak-ng": "voice.synthesis.espeak.EspeakEngine",
    "openai": "voice.synthesis.openai.OpenAISpeechEngine",
}
TTS_VOICE = env_str("TTS_VOICE")  # blank: the engine's default voice
TTS_THREADS = env_int("TTS_THREADS", min(os.cpu_count() or 2, 2))
TTS_BASE_URL = env_str("TTS_BASE_URL")
TTS_MODEL = env_str("TTS_MODEL", "tts-1")
TTS_API_KEY_ENV = env_str("TTS_API_KEY_ENV")
# The longest text /v1/audio/speech takes (OpenAI's limit).
TTS_MAX_INPUT_CHARS = env_int("TTS_MAX_INPUT_CHARS", 4096)

# --- Insights ---------------------------------------------------------------------------------------
# The dashboard's daily rollups (insights/): refreshed when a dashboard is opened and they are older than
# INSIGHTS_REFRESH_SECONDS, from INSIGHTS_REFRESH_DAYS before the last refresh (``manage.py insights_refresh``
# rebuilds any range, e.g. from cron).
INSIGHTS_REFRESH_SECONDS = env_int("INSIGHTS_REFRESH_SECONDS", 60)
INSIGHTS_REFRESH_DAYS = env_int("INSIGHTS_REFRESH_DAYS", 2)
# Retention (manage.py retention, from cron): recordings, and whole conversations untouched, older than this
# many days are deleted, except what a reviewer flagged, corrected or marked as needing attention. 0: kept.
RETENTION_RECORDINGS_DAYS = env_int("RETENTION_RECORDINGS_DAYS", 0)
RETENTION_CHATS_DAYS = env_int("RETENTION_CHATS_DAYS", 0)

# --- Logging ----------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact": {"()": "config.logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
