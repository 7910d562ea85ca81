"""Text to speech. The engines (``base``, ``piper``, ``espeak``, ``openai``): text in, audio out; each takes a
``SynthesisConfig`` and raises ``voice.synthesis.base.SpeechError``, and knows nothing of settings or HTTP.
Around them: ``registry`` (which engine and voice, from the settings), ``worker`` (the one synthesis thread),
``sentences`` (a streamed reply cut into speakable sentences) and ``speaking`` (a turn spoken as it streams)."""
