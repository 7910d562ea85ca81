"""``POST /api/imports``: another chat service's export in (ChatGPT's conversations.json, or its export's zip),
the chats it held out."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

from chat.domain.importing import chats_import
from chat.domain.serializers import chat_to_dict
from chat.exceptions import BadRequest, ChatError
from chat.http.api import admit, authenticate, bearer_token, endpoint, error_response
from config.limits import size_text


async def _authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The API's ``authenticate``, with a signed-in browser's form read first, off the event loop: the CSRF
    check looks in it for ``csrfmiddlewaretoken``, and an export may be hundreds of megabytes."""
    if request.method == "POST" and bearer_token(request) is None and (await request.auser()).is_authenticated:
        await sync_to_async(_form, thread_sensitive=False)(request)
    return await authenticate(request)


@endpoint(["POST"], authenticate=_authenticate, render_error=error_response)
async def imports_view(request: HttpRequest) -> JsonResponse:
    """Multipart ``file`` (and ``format``, ``chatgpt`` by default): every conversation of it becomes a chat of
    the caller's, with its branches, or none does and the answer says why. Counts as a turn for the limits."""
    if request.content_type != "multipart/form-data":
        message = "Send the export as multipart/form-data, the file in the field 'file'."
        raise BadRequest(message, code="unsupported_media")
    release = await admit(request)
    try:
        # Off the event loop: reading the form copies the upload to disk, and an import is seconds of work. Not
        # on the database threads (chat.domain.db) either, where every request's queries would wait behind it.
        upload, format = await sync_to_async(_upload, thread_sensitive=False)(request)
        result = await sync_to_async(_import, thread_sensitive=False)(request.api_user, upload, format)
    finally:
        await release()
    return JsonResponse(result, status=201)


def _form(request: HttpRequest) -> tuple[UploadedFile | None, str]:
    """The uploaded file and the format asked for. The form is read once (Django keeps it), the file going to
    a temporary file (FILE_UPLOAD_HANDLERS)."""
    try:
        return request.FILES.get("file"), request.POST.get("format") or "chatgpt"
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):
        raise BadRequest("The upload is not valid multipart/form-data.", code="invalid_upload") from None


def _upload(request: HttpRequest) -> tuple[UploadedFile, str]:
    upload, format = _form(request)
    if upload is None:
        raise BadRequest("Attach the export as the multipart file field 'file'.", code="missing_field")
    if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
        raise ChatError(f"The file is too large; the limit is {size_text(settings.IMPORT_MAX_BYTES)}.",
                        code="import_too_large", status=413)  # fmt: skip
    return upload, format


def _import(user: AbstractBaseUser, upload: UploadedFile, format: str) -> dict[str, Any]:
    assert upload.file is not None
    try:
        result = chats_import(user=user, source=upload.file, name=upload.name or "the file", format=format)
        return {
            "imported": len(result.chats),
            "messages": result.messages,
            "skipped": result.skipped,
            "chats": [chat_to_dict(chat) for chat in result.chats],
        }
    finally:
        upload.close()  # the temporary file goes now, not when the request is collected
        connection.close()  # this thread's, back to the pool (or closed): it is not one of the database threads
