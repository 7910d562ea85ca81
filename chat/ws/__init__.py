"""The websocket transport: a chat's live socket (``consumers``), its routes, token auth and Origin check
(``routing``), and the one channel-layer reader per process that feeds every socket (``hub``)."""
