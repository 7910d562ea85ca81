"""Speech to text. The engines (``base``, ``openai_whisper``, ``faster``, ``remote``, with the bundled weights
in ``weights`` and ``ct2``): each takes an ``EngineConfig`` and raises ``TranscriptionError``, and knows nothing
of settings or HTTP. Around them: ``registry`` (which engine and model a request gets, and what its errors
answer over HTTP), ``languages`` (the language codes a request may name) and ``hallucinations`` (what Whisper
writes for silence)."""
