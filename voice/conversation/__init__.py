"""Conversation mode: the websocket (``consumer``) that hears a person through an open microphone, finds the
ends of their turns (``vad``) and answers each one spoken; ``routing`` is its route, served by chat's
websocket router (``VoiceConfig.ready`` registers it)."""
