"""Where a turn meets its model: a ``ChatModel`` and the settings become a provider and its config, and a
provider's error code becomes the HTTP status of a turn that failed.

The providers (``chat.llm``) stay free of models, settings and HTTP; this module is the one place that joins
them to the rest of the product.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from chat.llm.base import LLMProvider, ProviderConfig
from chat.llm.errors import LLMError, ModelUnavailable
from chat.llm.local import LocalProvider
from chat.llm.local_weights import resolve_gguf
from chat.models import ChatModel, api_key_from_env

logger = logging.getLogger(__name__)

# The HTTP status of a turn that failed with this code, for the answers that are not streams
# (the JSON fallback, /v1 without ``stream``). Unlisted codes are a 502: the model server failed.
ERROR_STATUS = {
    "upstream_rate_limited": 429,
    "upstream_timeout": 504,
    "model_unavailable": 503,
    "internal_error": 500,
    "save_failed": 500,
}


def error_status(code: str) -> int:
    return ERROR_STATUS.get(code, 502)


@cache
def provider_class(kind: str) -> type[LLMProvider]:
    try:
        provider: type[LLMProvider] = import_string(settings.LLM_PROVIDERS[kind])
        return provider
    except KeyError:
        raise ModelUnavailable(f"No provider is configured for '{kind}' models.") from None


def local_model_path(configured: str = "") -> Path:
    """The GGUF a local model loads: its own path, else ``LOCAL_LLM_PATH``, else the default model."""
    return resolve_gguf(configured or settings.LOCAL_LLM_PATH, cache_dir=settings.LOCAL_LLM_CACHE_DIR)


def _local_config(path: Path) -> ProviderConfig:
    return ProviderConfig(
        model_path=path,
        context=settings.LOCAL_LLM_CONTEXT,
        threads=settings.LOCAL_LLM_THREADS,
        repeat_penalty=settings.LOCAL_LLM_REPEAT_PENALTY,
        parallel=settings.LOCAL_LLM_PARALLEL,
    )


def provider_config(chat_model: ChatModel) -> ProviderConfig:
    if chat_model.provider == ChatModel.Provider.LOCAL:
        return _local_config(local_model_path(chat_model.local_path))
    return ProviderConfig(
        base_url=chat_model.base_url or settings.OPENAI_BASE_URL,
        connect_timeout=settings.LLM_CONNECT_TIMEOUT,
        read_timeout=settings.LLM_READ_TIMEOUT,
        max_connections=settings.LLM_MAX_CONNECTIONS,
    )


def provider_for(chat_model: ChatModel) -> LLMProvider:
    """The shared provider instance that serves this chat model."""
    return provider_class(chat_model.provider).shared(provider_config(chat_model))


def api_key(chat_model: ChatModel) -> str:
    """The model's API key, from the environment variable it names, if that variable may be sent upstream
    (a row saved before the rule, or edited around the admin, is refused rather than obeyed)."""
    name = chat_model.api_key_env
    if not name:
        return ""
    if (key := api_key_from_env(name)) is None:
        raise LLMError(
            "This model's API key setting is not allowed on this server; an admin must correct the model.",
            code="api_key_env_refused",
            detail=f"api_key_env={name!r} is outside LLM_KEY_ENV_PREFIX / LLM_KEY_ENV_ALLOWED",
        )
    return key


def default_local_provider() -> LocalProvider:
    """The in-process provider of the default local model (``LOCAL_LLM_PATH`` or the bundled one)."""
    return LocalProvider.shared(_local_config(local_model_path()))


def preload_default_local() -> None:
    """Load the default local model in the background, so the first turn does not wait for it."""

    def load() -> None:
        try:
            default_local_provider().load_in_background().result()
        except LLMError as error:
            logger.error("The local model could not be loaded: %s (%s)", error.message, error.detail)

    threading.Thread(target=load, name="llama-preload", daemon=True).start()


def default_local_loaded() -> bool | None:
    """Whether the default local model is in memory (None if it cannot be resolved)."""
    try:
        return default_local_provider().loaded
    except LLMError:
        return None
