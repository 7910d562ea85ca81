"""Chat models (which LLM answers), conversations, their messages, and API tokens."""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from chat.fields import StoredCharField, StoredJSONField, StoredTextField

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_public_id(prefix: str) -> str:
    """A random, unguessable public id such as ``ci_4hQ…`` (22 base62 characters, about 131 bits)."""
    # One read of the system's randomness rather than one per character: every turn makes two of these.
    number = int.from_bytes(secrets.token_bytes(24))  # 192 bits: reducing them to 22 digits adds no bias
    digits = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(digits)


def _public_id_field(prefix: str) -> models.CharField:
    return models.CharField(max_length=32, unique=True, editable=False, default=partial(new_public_id, prefix))


def api_key_env_allowed(name: str) -> bool:
    """Whether a chat model may read its API key from this environment variable: one with
    ``LLM_KEY_ENV_PREFIX`` or listed in ``LLM_KEY_ENV_ALLOWED``, and never one of Django's own."""
    if not name or name.startswith("DJANGO_"):
        return False
    prefix = settings.LLM_KEY_ENV_PREFIX
    return bool(prefix and name.startswith(prefix)) or name in settings.LLM_KEY_ENV_ALLOWED


def api_key_from_env(name: str) -> str | None:
    """The key in the environment variable ``name`` ("" if unset), or None if that variable may not hold one
    (``api_key_env_allowed``): chat models, MCP servers and the speech servers read keys this one way."""
    return os.environ.get(name, "") if api_key_env_allowed(name) else None


def validate_api_key_env(value: str) -> None:
    if value and not api_key_env_allowed(value):
        allowed = ", ".join(settings.LLM_KEY_ENV_ALLOWED)
        raise ValidationError(
            f"Name a variable that starts with {settings.LLM_KEY_ENV_PREFIX}"
            + (f" or one of: {allowed}" if allowed else "")
            + ". Other variables (Django's own among them) cannot be sent to a model server."
        )


def validate_http_url(value: str) -> None:
    """An http(s) URL with a host. Any host name is fine (``http://ollama:11434/v1`` in a compose network), so
    this is not Django's URLValidator, which wants a dotted domain."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL, such as https://api.openai.com/v1.")


class McpServer(models.Model):
    """An MCP server whose tools chat models may use: a command run over stdio, or a Streamable HTTP URL.

    Values in ``env`` and ``headers`` written as ``${NAME}`` are read from the server's environment when
    ``NAME`` may be (the rule of ``api_key_env``), so secrets need not be stored here.
    """

    class Transport(models.TextChoices):
        STDIO = "stdio", "Command (stdio)"
        HTTP = "http", "Streamable HTTP"

    name = models.SlugField(max_length=50, unique=True, help_text="Short name; tools of two servers that share a "
                            "name are told apart by it.")  # fmt: skip
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.STDIO)
    command = models.CharField(max_length=500, blank=True, help_text="stdio: the program to run.")
    args = models.JSONField(default=list, blank=True, help_text='stdio: its arguments, e.g. ["-m", "my_server"].')
    env = models.JSONField(
        default=dict, blank=True, help_text='stdio: extra environment, e.g. {"TOKEN": "${LLM_KEY_X}"}.'
    )
    url = models.CharField(max_length=500, blank=True, help_text="http: the endpoint, e.g. http://127.0.0.1:8001/mcp")
    headers = models.JSONField(default=dict, blank=True, help_text="http: extra request headers.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.transport == self.Transport.STDIO and not self.command.strip():
            raise ValidationError({"command": "A stdio server needs a command."})
        if self.transport == self.Transport.HTTP:
            validate_http_url(self.url)
        if not isinstance(self.args, list) or not all(isinstance(a, str) for a in self.args):
            raise ValidationError({"args": "Arguments are a JSON list of strings."})
        for name in ("env", "headers"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ValidationError({name: "A JSON object of strings."})


class ChatModel(models.Model):
    """An LLM that conversations can talk to: where it runs, which model, and how it is prompted."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible server"
        LOCAL = "local", "Local model (llama.cpp, in process)"

    public_id = _public_id_field("cm")
    name = models.CharField(max_length=100, unique=True, help_text="Shown to users; also accepted as the model id.")
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.OPENAI)
    base_url = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_http_url],
        help_text="OpenAI-compatible base URL, e.g. https://api.openai.com/v1",
    )
    upstream_model = models.CharField(max_length=200, blank=True, help_text="Model name sent upstream.")
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_api_key_env],
        help_text="Name of the environment variable that holds the API key (never the key itself); it must "
        "start with LLM_KEY_ or be listed in LLM_KEY_ENV_ALLOWED.",
    )
    local_path = models.CharField(
        max_length=500, blank=True, help_text="Path to a GGUF file for the local provider (blank: the default)."
    )
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(default=0.7)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    context_window = models.PositiveIntegerField(
        null=True, blank=True, help_text="Tokens the model takes at once, prompt and answer (blank: "
        "LOCAL_LLM_CONTEXT for the local model, LLM_DEFAULT_CONTEXT for others). Older history is trimmed to fit."
    )  # fmt: skip
    tools = models.JSONField(default=list, blank=True, help_text="The built-in tools this model may call.")
    mcp_servers = models.ManyToManyField(
        McpServer, blank=True, related_name="chat_models", help_text="MCP servers whose tools this model may call."
    )
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False,
        help_text="Preselected for new chats (one model at a time: checking it here unchecks the others).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Where a model connects and which secret it sends: changing these needs this permission (or superuser).
    CONNECTION_FIELDS = ("base_url", "api_key_env", "local_path")

    class Meta:
        ordering = ["name"]
        permissions = [("change_chatmodel_connection", "Can change where a chat model connects and its key")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if self.is_default:  # one default at a time
            ChatModel.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)


class ChatInstance(models.Model):
    """One conversation of one user with a chat model, and where its review stands."""

    class ReviewState(models.TextChoices):
        UNREVIEWED = "unreviewed", "Unreviewed"
        REVIEWED = "reviewed", "Reviewed"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    public_id = _public_id_field("ci")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chats")
    chat_model = models.ForeignKey(ChatModel, on_delete=models.PROTECT, related_name="chats")
    title = StoredCharField(max_length=200, blank=True)
    # A conversation id chosen by an API client (``session_id`` on /v1/chat/completions).
    session_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL when unset
    review_state = models.CharField(
        max_length=20, choices=ReviewState.choices, default=ReviewState.UNREVIEWED, db_index=True
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_notes = StoredTextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The conversation is a tree of messages; the active branch is the path from the root to this leaf.
    active_message = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    system_prompt = StoredTextField(blank=True, help_text="Replaces the model's system prompt in this chat.")
    temperature = models.FloatField(null=True, blank=True, help_text="Replaces the model's temperature in this chat.")
    pinned = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Not stored: the active message's public id and the highest seq, where a read joined them.
    active_public_id: str | None = None
    last_seq: int | None = None

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="chat_owner_updated_idx"),
            models.Index(fields=["owner", "archived", "-pinned", "-updated_at"], name="chat_owner_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "session_key"], condition=Q(session_key__isnull=False), name="chat_unique_session_key"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.public_id

    def system_prompt_for(self, chat_model: ChatModel) -> str:
        """The system prompt of a turn in this chat: the chat's own, else its model's."""
        return self.system_prompt or chat_model.system_prompt


class Message(models.Model):
    """One message of a conversation. Assistant replies are written when they start and when they end."""

    class Role(models.TextChoices):
        SYSTEM = "system", "System"
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        COMPLETE = "complete", "Complete"
        INTERRUPTED = "interrupted", "Interrupted"
        ERROR = "error", "Error"

    class Source(models.TextChoices):
        TEXT = "text", "Text"
        VOICE = "voice", "Voice"

    class Flag(models.TextChoices):
        WRONG_ANSWER = "wrong_answer", "Wrong answer"
        MIS_TRANSCRIPTION = "mis_transcription", "Mis-transcription"
        UNSAFE = "unsafe", "Unsafe"
        OTHER = "other", "Other"

    public_id = _public_id_field("msg")
    chat = models.ForeignKey(ChatInstance, on_delete=models.CASCADE, related_name="messages")
    # The message this one follows (none for a first message). Messages with the same parent are versions
    # of each other: an edited question, a regenerated reply.
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    seq = models.PositiveIntegerField(help_text="1, 2, 3… within the conversation, in the order of writing.")
    role = models.CharField(max_length=10, choices=Role.choices)
    content = StoredTextField(blank=True)
    reasoning = StoredTextField(blank=True, help_text="Reasoning the model streamed before its answer.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.TEXT)
    chat_model = models.ForeignKey(ChatModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    finish_reason = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name="time to first token (ms)")
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name="total duration (ms)")
    error_code = models.CharField(max_length=64, blank=True)
    error_detail = StoredTextField(blank=True)
    # The tools the reply called, in order: [{"id", "name", "arguments", "label", "ok", "content", "durationMs",
    # "step", "source"}]. ``content`` is the result as the model got it (capped at TOOLS_MAX_OUTPUT_BYTES).
    tool_calls = StoredJSONField(default=list, blank=True)
    # Messages of the history left out of the model's prompt to fit its context (chat/domain/context.py).
    context_trimmed = models.PositiveIntegerField(null=True, blank=True)
    # NULL, not "", when absent: the per-chat uniqueness only applies to ids a client actually sent.
    client_message_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    # Review: a flag with a note, and a corrected transcript (``content`` keeps what was heard).
    flag = models.CharField(max_length=20, choices=Flag.choices, blank=True, db_index=True)
    flag_note = StoredTextField(blank=True)
    corrected_content = StoredTextField(blank=True, help_text="A reviewer's correction of the transcript.")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # Not stored: the public id of its parent and the ids of its versions (oldest first), where a read or
    # a turn worked them out (``chat.domain.branches``).
    parent_public_id: str | None = None
    sibling_ids: list[str] | None = None

    class Meta:
        ordering = ["chat_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["chat", "client_message_id"],
                condition=Q(client_message_id__isnull=False),
                name="message_unique_client_id",
            ),
            # At most one reply streams per conversation: a second turn is refused by the database itself.
            models.UniqueConstraint(
                fields=["chat"], condition=Q(status="streaming"), name="message_one_streaming_per_chat"
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="message_status_idx"),
            models.Index(fields=["created_at"], name="message_created_idx"),  # the insights' rollups read by day
        ]

    def __str__(self) -> str:
        return f"{self.public_id} #{self.seq} {self.role}"

    @property
    def reviewed_content(self) -> str:
        """The text as reviewed: the correction when there is one."""
        return self.corrected_content or self.content

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


class Feedback(models.Model):
    """A person's thumbs up or down on a reply, with an optional comment."""

    class Rating(models.IntegerChoices):
        UP = 1, "👍"
        DOWN = -1, "👎"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=Rating.choices)
    comment = StoredTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="feedback_one_per_user")]
        indexes = [
            models.Index(fields=["rating"], name="feedback_rating_idx"),
            models.Index(fields=["created_at"], name="feedback_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on {self.message.public_id}"


class Preset(models.Model):
    """A person's way to start a chat: a system prompt, a model and a temperature under a name."""

    public_id = _public_id_field("pr")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presets")
    name = StoredCharField(max_length=100)
    system_prompt = StoredTextField(blank=True)
    chat_model = models.ForeignKey(ChatModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    temperature = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChatShare(models.Model):
    """A read-only copy of a chat's active branch as it was when shared, open to anyone with its link."""

    public_id = _public_id_field("sh")
    chat = models.ForeignKey(ChatInstance, on_delete=models.CASCADE, related_name="shares")
    title = StoredCharField(max_length=200, blank=True)
    # The shared messages, serialised when the link was made: later changes to the chat do not show.
    messages = StoredJSONField(default=list)
    include_recordings = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "shared link"

    def __str__(self) -> str:
        return f"{self.public_id} of {self.chat}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for programs. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.user})"

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """A new raw token with its hash and display prefix."""
        raw = "tok_" + secrets.token_urlsafe(32)
        return raw, hash_token(raw), raw[:10]
