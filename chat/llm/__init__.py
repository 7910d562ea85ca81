"""LLM providers, resolved from ``settings.LLM_PROVIDERS`` the way Django resolves its backends."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

from chat.exceptions import ModelUnavailable

if TYPE_CHECKING:
    from chat.llm.base import LLMProvider
    from chat.models import ChatModel


@cache
def _provider_class(kind: str) -> type[LLMProvider]:
    try:
        provider: type[LLMProvider] = import_string(settings.LLM_PROVIDERS[kind])
        return provider
    except KeyError:
        raise ModelUnavailable(f"No provider is configured for '{kind}' models.") from None


def get_provider(chat_model: ChatModel) -> LLMProvider:
    """The shared provider instance that serves this chat model."""
    return _provider_class(chat_model.provider).for_chat_model(chat_model)


def import_provider(kind: str) -> None:
    """Import a provider's module ahead of the first turn that needs it (the server does this at start-up)."""
    _provider_class(kind)
