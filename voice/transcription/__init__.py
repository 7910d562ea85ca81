"""Speech-recognition engines. Each takes an ``EngineConfig`` and raises ``TranscriptionError``; which engine
and model a request gets, and what its errors answer over HTTP, is decided in ``voice.engines``."""
