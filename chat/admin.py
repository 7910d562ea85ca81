"""The review desk: conversations with their measures, read-only transcripts, flags, corrections, exports."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing

from asgiref.sync import async_to_sync
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.services import audit_admin_view
from chat.domain import extensions
from chat.domain.branches import path_ids
from chat.domain.export import chats_to_json, chats_to_markdown, export_queryset
from chat.domain.markdown import render_markdown
from chat.domain.services import api_token_create
from chat.llm.base import LLMRequest
from chat.llm.errors import LLMError
from chat.models import ApiToken, ChatInstance, ChatModel, ChatShare, Feedback, McpServer, Message
from chat.tools.builtin import BUILTIN_CHOICES, DEFAULT_TOOLS
from chat.tools.mcp import McpConnection, McpServerConfig
from chat.turns import upstream


def _per_chat(queryset: QuerySet, value) -> Subquery:
    """One number per conversation, as a subquery: the changelist stays one query whatever the page size."""
    rows = queryset.filter(chat=OuterRef("pk")).order_by().values("chat").annotate(value=value).values("value")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


class HasVoiceFilter(admin.SimpleListFilter):
    title, parameter_name = "voice", "voice"

    def lookups(self, request, model_admin):
        return [("yes", "Has voice messages"), ("no", "Text only")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(voice_count__gt=0)
        if self.value() == "no":
            return queryset.filter(voice_count=0)
        return queryset


class ProblemFilter(admin.SimpleListFilter):
    title, parameter_name = "replies", "problem"

    def lookups(self, request, model_admin):
        return [("yes", "Has an error or interrupted reply"), ("no", "All replies complete")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(has_problem=self.value() == "yes")
        return queryset


class NegativeFeedbackFilter(admin.SimpleListFilter):
    title, parameter_name = "feedback", "feedback"

    def lookups(self, request, model_admin):
        return [("down", "Has 👎"), ("up", "Has 👍"), ("none", "No feedback")]

    def queryset(self, request, queryset):
        if self.value() == "down":
            return queryset.filter(thumbs_down__gt=0)
        if self.value() == "up":
            return queryset.filter(thumbs_up__gt=0)
        if self.value() == "none":
            return queryset.filter(thumbs_up=0, thumbs_down=0)
        return queryset


def tool_calls_html(calls: list[dict]) -> str:
    """A reply's tool calls on the review desk: name, outcome, duration, then the arguments and the result."""
    return format_html_join(
        mark_safe(""),
        '<details class="tool-call"><summary>{} · {} · {} ms</summary>'
        "<div><strong>Arguments</strong><pre>{}</pre></div><div><strong>{}</strong><pre>{}</pre></div></details>",
        (
            (
                call.get("name", "?") + (f" ({call['source']})" if call.get("source") not in ("", "built-in") else ""),
                "ok" if call.get("ok") else "failed",
                call.get("durationMs", 0),
                json.dumps(call.get("arguments"), ensure_ascii=False, indent=2),
                "Result" if call.get("ok") else "Error",
                call.get("content", ""),
            )
            for call in calls or ()
        ),
    )


class MessageInline(admin.StackedInline):
    """The conversation in sequence order. What people said and what the model answered cannot be edited;
    a reviewer can only flag a message and correct a transcript (the original is kept)."""

    model = Message
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("seq",)
    fields = (
        ("heading", "status", "flag"),
        "said",
        "tools_used",
        "audio_player",
        ("timings", "usage"),
        "feedback_summary",
        "flag_note",
        "corrected_content",
    )
    readonly_fields = (
        "heading", "status", "said", "tools_used", "audio_player", "timings", "usage", "feedback_summary",
    )  # fmt: skip
    classes = ("conversation",)

    def get_queryset(self, request):
        versions = {"partition_by": [F("chat_id"), F("parent_id")]}
        return (
            super()
            .get_queryset(request)
            .select_related(*extensions.message_related(), "chat_model", "parent")
            .prefetch_related("feedback")
            .annotate(version=Window(RowNumber(), order_by=F("id").asc(), **versions),
                      versions=Window(Count("id"), **versions))  # fmt: skip
            .order_by("seq")
        )

    def get_formset(self, request, obj=None, **kwargs):
        # The chat's shown branch, to mark the messages off it (inline instances are made per request).
        self.shown = set(path_ids(obj.active_message_id)) if obj is not None else set()
        formset = super().get_formset(request, obj, **kwargs)
        if "corrected_content" in formset.form.base_fields:
            formset.form.base_fields["corrected_content"].widget.attrs["rows"] = 2
            formset.form.base_fields["flag_note"].widget.attrs["rows"] = 1
        return formset

    @admin.display(description="")
    def heading(self, message: Message) -> str:
        source = " · voice" if message.source == Message.Source.VOICE else ""
        when = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M:%S")
        tree = ""
        if message.parent is not None:
            tree += f" · after #{message.parent.seq}"
        if getattr(message, "versions", 1) > 1:
            tree += f" · version {message.version} of {message.versions}"
        if message.pk not in getattr(self, "shown", {message.pk}):
            tree += " · not on the branch the chat shows"
        return f"#{message.seq} {message.get_role_display()}{source}{tree} · {when}"

    @admin.display(description="Content")
    def said(self, message: Message) -> str:
        if message.role == Message.Role.ASSISTANT:
            body = mark_safe(render_markdown(message.content)) if message.content else "(empty)"  # noqa: S308
            return format_html('<div class="rendered">{}</div>', body)
        if message.corrected_content:
            return format_html(
                '<div class="transcript"><div><strong>Heard:</strong> {}</div>'
                "<div><strong>Corrected:</strong> {}</div></div>",
                message.content,
                message.corrected_content,
            )
        return format_html('<div class="transcript">{}</div>', message.content)

    @admin.display(description="Tools")
    def tools_used(self, message: Message) -> str:
        return tool_calls_html(message.tool_calls) or "—"

    @admin.display(description="Recording")
    def audio_player(self, message: Message) -> str:
        return format_html_join(mark_safe("<br>"), "{}", ((html,) for html in extensions.admin_html(message))) or "—"

    @admin.display(description="Timings")
    def timings(self, message: Message) -> str:
        parts = extensions.admin_timings(message)
        if message.ttft_ms is not None:
            parts.append(f"first token {message.ttft_ms} ms")
        if message.completion_tokens and message.duration_ms and message.ttft_ms is not None:
            streaming = (message.duration_ms - message.ttft_ms) / 1000
            if streaming > 0:
                parts.append(f"{message.completion_tokens / streaming:.1f} tokens/s")
        if message.duration_ms is not None:
            parts.append(f"total {message.duration_ms} ms")
        return " · ".join(parts) or "—"

    @admin.display(description="Usage")
    def usage(self, message: Message) -> str:
        if message.total_tokens is None:
            return "—"
        return f"{message.prompt_tokens or 0} prompt + {message.completion_tokens or 0} completion tokens"

    @admin.display(description="Feedback")
    def feedback_summary(self, message: Message) -> str:
        items = list(message.feedback.all())
        if not items:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} {}", ((f.get_rating_display(), f.comment) for f in items))


@admin.register(ChatInstance)
class ChatInstanceAdmin(admin.ModelAdmin):
    change_list_template = "admin/chat/chatinstance/change_list.html"
    list_display = (
        "__str__", "owner", "chat_model", "messages_count", "voice_count", "updated_at", "tokens_total",
        "problems", "review_state", "thumbs",
    )  # fmt: skip
    list_filter = (
        "chat_model", "created_at", HasVoiceFilter, ProblemFilter, "review_state", NegativeFeedbackFilter,
    )  # fmt: skip
    list_select_related = ("owner", "chat_model")
    search_fields = ("title", "public_id", "owner__username", "owner__email", "messages__content",
                     "messages__corrected_content")  # fmt: skip
    date_hierarchy = "created_at"
    ordering = ("-updated_at",)
    readonly_fields = ("public_id", "owner", "chat_model", "title", "session_key", "created_at", "updated_at",
                       "reviewer", "reviewed_at")  # fmt: skip
    fieldsets = (
        (None, {"fields": (("public_id", "owner"), ("chat_model", "title"), ("created_at", "updated_at"))}),
        ("Review", {"fields": ("review_state", "review_notes", ("reviewer", "reviewed_at"))}),
    )
    inlines = (MessageInline,)
    actions = ("export_json", "export_markdown", "mark_reviewed", "mark_needs_attention")
    list_per_page = 50

    class Media:
        css = {"all": ("css/admin.css",)}

    def get_queryset(self, request):
        messages_qs = Message.objects.all()
        feedback = Feedback.objects.filter(message__chat=OuterRef("pk"))
        tokens = Sum(Coalesce("prompt_tokens", 0) + Coalesce("completion_tokens", 0))
        return (
            super()
            .get_queryset(request)
            .annotate(
                messages_count=_per_chat(messages_qs, Count("pk")),
                voice_count=_per_chat(messages_qs.filter(source=Message.Source.VOICE), Count("pk")),
                tokens_total=_per_chat(messages_qs, tokens),
                has_problem=Exists(messages_qs.filter(chat=OuterRef("pk"), status__in=["error", "interrupted"])),
                thumbs_up=Coalesce(
                    Subquery(
                        feedback.filter(rating=1).order_by().values("message__chat").annotate(n=Count("pk")).values("n")
                    ),
                    0,
                ),
                thumbs_down=Coalesce(
                    Subquery(
                        feedback.filter(rating=-1)
                        .order_by()
                        .values("message__chat")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    0,
                ),
            )  # fmt: skip
        )

    def has_add_permission(self, request):
        return False  # Conversations are started by people, not by reviewers.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        audit_admin_view(request=request, response=response)  # who read whose conversation
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if hasattr(response, "context_data") and "cl" in response.context_data:
            # Figures other apps add over the conversations listed (conversation mode's latencies).
            response.context_data["summaries"] = extensions.admin_summaries(response.context_data["cl"].queryset)
        return response

    @admin.display(description="Messages", ordering="messages_count")
    def messages_count(self, chat):
        return chat.messages_count

    @admin.display(description="Voice", ordering="voice_count")
    def voice_count(self, chat):
        return chat.voice_count

    @admin.display(description="Tokens", ordering="tokens_total")
    def tokens_total(self, chat):
        return chat.tokens_total

    @admin.display(description="Error or interrupted", boolean=True, ordering="has_problem")
    def problems(self, chat):
        return chat.has_problem

    @admin.display(description="Feedback")
    def thumbs(self, chat):
        return f"👍 {chat.thumbs_up} · 👎 {chat.thumbs_down}"

    def save_model(self, request, obj, form, change):
        if "review_state" in form.changed_data or "review_notes" in form.changed_data:
            obj.reviewer, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)

    def _set_review(self, request, queryset, state: str) -> None:
        count = queryset.update(review_state=state, reviewer=request.user, reviewed_at=timezone.now())
        self.message_user(request, f"{count} conversation(s) marked {ChatInstance.ReviewState(state).label.lower()}.")

    @admin.action(description="Mark as reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        self._set_review(request, queryset, ChatInstance.ReviewState.REVIEWED)

    @admin.action(description="Mark as needing attention", permissions=["change"])
    def mark_needs_attention(self, request, queryset):
        self._set_review(request, queryset, ChatInstance.ReviewState.NEEDS_ATTENTION)

    @admin.action(description="Export as JSON", permissions=["view"])
    def export_json(self, request: HttpRequest, queryset):
        chats = export_queryset(ChatInstance.objects.filter(pk__in=queryset.values("pk")))
        body = json.dumps(
            chats_to_json(chats, request.build_absolute_uri("/").rstrip("/")), ensure_ascii=False, indent=2
        )
        return _download(body, "application/json", "json")

    @admin.action(description="Export as Markdown", permissions=["view"])
    def export_markdown(self, request: HttpRequest, queryset):
        chats = export_queryset(ChatInstance.objects.filter(pk__in=queryset.values("pk")))
        return _download(chats_to_markdown(chats, request.build_absolute_uri("/").rstrip("/")), "text/markdown", "md")


def _download(body: str, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="conversations-{stamp}.{extension}"'
    return response


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Every message across conversations, to find flagged, failed or disliked replies quickly."""

    list_display = ("public_id", "chat", "seq", "role", "source", "status", "flag", "short_content", "created_at")
    list_filter = ("role", "source", "status", "flag", "feedback__rating", "chat__chat_model")
    list_select_related = ("chat",)
    search_fields = ("public_id", "content", "corrected_content", "chat__title", "chat__public_id")
    fields = ("public_id", "chat", "seq", "role", "source", "status", "content", "corrected_content", "flag",
              "flag_note", "tools_used", "finish_reason", "error_code", "error_detail", "prompt_tokens",
              "completion_tokens", "ttft_ms", "duration_ms", "created_at", "completed_at")  # fmt: skip
    readonly_fields = tuple(f for f in fields if f not in {"corrected_content", "flag", "flag_note"})

    @admin.display(description="Tools")
    def tools_used(self, message: Message) -> str:
        return tool_calls_html(message.tool_calls) or "—"

    def has_add_permission(self, request):
        return False

    @admin.display(description="Content")
    def short_content(self, message):
        text = message.reviewed_content
        return text if len(text) <= 80 else text[:79] + "…"


async def _probe(chat_model: ChatModel) -> str | None:
    """Ask a model's upstream for one token: None when it answers, else what went wrong, in words."""
    try:
        request = LLMRequest(
            messages=[{"role": "user", "content": "Say OK."}], max_tokens=1,
            model=chat_model.upstream_model or chat_model.name, api_key=upstream.api_key(chat_model),
        )  # fmt: skip
        async with asyncio.timeout(settings.LLM_CONNECT_TIMEOUT + 10):
            async with aclosing(upstream.provider_for(chat_model).stream(request)) as stream:
                async for _chunk in stream:
                    break
    except LLMError as error:
        return " ".join(part for part in (error.message, error.detail) if part)
    except TimeoutError:
        return "No answer in time: the server accepted the connection but did not reply."
    return None


class ChatModelForm(forms.ModelForm):
    tools = forms.MultipleChoiceField(
        choices=BUILTIN_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Built-in tools this model may call. fetch_url reaches the network (never private addresses, "
        "unless TOOLS_FETCH_ALLOWED_HOSTS allows them).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("tools", DEFAULT_TOOLS)

    class Meta:
        model = ChatModel
        fields = [
            "name", "provider", "base_url", "upstream_model", "api_key_env", "local_path", "system_prompt",
            "temperature", "max_tokens", "tools", "mcp_servers", "is_active",
        ]  # fmt: skip


@admin.register(ChatModel)
class ChatModelAdmin(admin.ModelAdmin):
    form = ChatModelForm
    list_display = ("name", "public_id", "provider", "upstream_model", "base_url", "tool_names", "is_active",
                    "is_default")  # fmt: skip
    list_filter = ("provider", "is_active")
    search_fields = ("name", "upstream_model", "public_id")
    readonly_fields = ("public_id", "created_at", "updated_at")
    filter_horizontal = ("mcp_servers",)

    @admin.display(description="Tools")
    def tool_names(self, chat_model: ChatModel) -> str:
        return ", ".join(chat_model.tools or ()) or "—"

    actions = ("test_connection",)

    @admin.action(description="Test the connection (one tiny request)", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset):
        for chat_model in queryset:
            if chat_model.provider == ChatModel.Provider.LOCAL:
                self.message_user(request, f"{chat_model}: runs in this server's process, nothing to connect to.")
                continue
            problem = async_to_sync(_probe)(chat_model)
            if problem:
                self.message_user(request, f"{chat_model}: {problem}", messages.ERROR)
            else:
                self.message_user(request, f"{chat_model}: the model answered.", messages.SUCCESS)

    def get_readonly_fields(self, request, obj=None):
        # Where a model connects, and which secret it sends there, is for superusers (or the dedicated
        # permission): a narrower "change chat model" right must not reach the server's environment or network.
        if request.user.is_superuser or request.user.has_perm("chat.change_chatmodel_connection"):
            return self.readonly_fields
        return self.readonly_fields + ChatModel.CONNECTION_FIELDS


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    """MCP servers. A stdio server is a command this server runs, so only superusers add or change them."""

    list_display = ("name", "transport", "target", "is_active", "updated_at")
    list_filter = ("transport", "is_active")
    readonly_fields = ("created_at", "updated_at")
    actions = ("list_tools",)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="Command or URL")
    def target(self, server: McpServer) -> str:
        return server.url if server.transport == McpServer.Transport.HTTP else " ".join([server.command, *server.args])

    @admin.action(description="List the selected servers' tools now", permissions=["change"])  # runs a command
    def list_tools(self, request: HttpRequest, queryset):
        async def listing(config: McpServerConfig) -> tuple[str, list[str] | str]:
            connection = McpConnection(config)
            try:
                client = await connection.client()
                return config.name, [tool.name for tool in (await client.list_tools()).tools]
            except Exception as error:  # shown to the admin as it is
                return config.name, str(error)
            finally:
                connection.reset()

        for server in queryset:
            name, tools = async_to_sync(listing)(McpServerConfig.from_model(server))
            if isinstance(tools, str):
                self.message_user(request, f"{name}: {tools}", messages.ERROR)
            else:
                self.message_user(request, f"{name}: {', '.join(tools) or 'no tools'}", messages.SUCCESS)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "rating", "comment", "updated_at")
    list_filter = ("rating",)
    list_select_related = ("message", "user")
    search_fields = ("comment", "message__public_id")
    readonly_fields = ("message", "user", "rating", "comment", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(ChatShare)
class ChatShareAdmin(admin.ModelAdmin):
    """Shared links, read-only: which chat, whose, when, and the page. Deleting one revokes it."""

    list_display = ("public_id", "chat", "owner", "created_at", "include_recordings", "message_count", "link")
    list_filter = ("include_recordings", "created_at")
    list_select_related = ("chat__owner",)
    search_fields = ("public_id", "title", "chat__title", "chat__public_id", "chat__owner__username")
    date_hierarchy = "created_at"
    fields = ("public_id", "chat", "owner", "title", "created_at", "include_recordings", "message_count", "link")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # Links are made by the chats' owners.

    def has_change_permission(self, request, obj=None):
        return False  # A snapshot: what was shared stays as it was.

    @admin.display(description="Owner", ordering="chat__owner__username")
    def owner(self, share: ChatShare):
        return share.chat.owner

    @admin.display(description="Messages")
    def message_count(self, share: ChatShare) -> int:
        return len(share.messages)

    @admin.display(description="Link")
    def link(self, share: ChatShare) -> str:
        url = reverse("share-page", kwargs={"share_id": share.public_id})
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, url)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name", "revoked", "prefix", "created_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        # Only a superuser mints a token for someone else: a token acts with all of its user's rights.
        return self.readonly_fields + (("user",) if obj or not request.user.is_superuser else ())

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        if not request.user.is_superuser:
            obj.user = request.user
        token, raw = api_token_create(user=obj.user, name=obj.name)
        obj.pk, obj.key_hash, obj.prefix = token.pk, token.key_hash, token.prefix
        messages.warning(request, f"The new token is {raw} — copy it now; it will not be shown again.")
