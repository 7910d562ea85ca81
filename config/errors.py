r"""The one shape of every error the project raises on purpose: a stable ``code``, a ``message`` a person
understands, and a ``detail`` for logs and the admin (never shown to the person). What an operator should do
about it (``advice``) goes with the detail, never into the message: the person who sees an error cannot
change the server's settings.

A subclass names its code in the class statement; its docstring is its message::

    class EmptyAudio(AudioRejected, code="empty_audio"):
        '''The audio file is empty.'''

Engines and providers raise these without an HTTP status (``chat.llm.errors``, ``voice.transcription.errors``);
the API's errors add one (``chat.exceptions``).
"""

from __future__ import annotations

from typing import Any


class CodedError(Exception):
    code = "error"
    message = "Something went wrong."
    advice = ""  # for the operator: added to the detail

    def __init_subclass__(cls, code: str | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if cls.__doc__:
            cls.message = " ".join(cls.__doc__.split())

    def __init__(self, message: str | None = None, *, code: str | None = None, detail: str = ""):
        self.message = message or self.message
        self.code = code or self.code
        self.detail = "\n".join(part for part in (detail, self.advice) if part)
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
