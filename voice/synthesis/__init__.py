"""Speech synthesis engines: text in, audio out. Each takes a ``SynthesisConfig`` and raises
``voice.synthesis.base.SpeechError``; which engine speaks, and how its audio is encoded for a client, is
decided in ``voice.speech``."""
