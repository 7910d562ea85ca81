"""LLM providers: each turns a conversation into a stream of chunks from some model.

A provider takes a ``ProviderConfig`` and raises ``chat.llm.errors`` on failure; it knows nothing of models,
views or HTTP statuses. The turn layer picks the provider class from ``settings.LLM_PROVIDERS`` and builds
its config (``chat.turns.upstream``).
"""
