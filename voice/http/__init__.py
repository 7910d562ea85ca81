"""Voice's HTTP doors: ``POST /api/chat/voice`` and a message's recording and speech (``views``), and
OpenAI's ``/v1/audio/transcriptions`` and ``/v1/audio/speech`` (``v1``). They parse requests and call the
services; ``voice/urls.py`` and ``config/urls.py`` route to them."""
