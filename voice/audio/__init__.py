"""Audio in and out, shared by both sides and knowing neither: recordings decoded for transcription
(``decoding``), and speech encoded for clients as it is made (``encoding``)."""

SAMPLE_RATE = 16_000  # what recordings are decoded to, and what every transcription engine takes (Whisper's)
