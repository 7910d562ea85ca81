"""``/api/presets``: a person's saved ways to start a chat (name, system prompt, model, temperature)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.domain.db import run_db
from chat.domain.selectors import chat_model_get, preset_get, preset_list
from chat.domain.serializers import preset_to_dict
from chat.domain.services import preset_save
from chat.exceptions import BadRequest
from chat.http.api import api_view, optional_str, parse_json, parse_temperature, parse_text

MAX_PRESETS = 200


def _changes(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The preset's fields from a request body (all of them when creating; those given when changing)."""
    changes: dict[str, Any] = {}
    if creating or "name" in body:
        name = parse_text(body, "name", max_length=100).strip()
        if not name:
            raise BadRequest("A preset needs a name.", code="missing_field")
        changes["name"] = name
    if creating or "systemPrompt" in body:
        changes["system_prompt"] = parse_text(body, "systemPrompt", max_length=settings.CHAT_MAX_MESSAGE_CHARS)
    if creating or "temperature" in body:
        changes["temperature"] = parse_temperature(body.get("temperature"))
    if creating or "chatModelId" in body:
        model_id = optional_str(body, "chatModelId")
        changes["chat_model"] = chat_model_get(model_id=model_id) if model_id else None
    return changes


@api_view(["GET", "POST"])
async def presets_view(request: HttpRequest) -> JsonResponse:
    user = request.api_user
    if request.method == "GET":
        return JsonResponse({"presets": await run_db(lambda: [preset_to_dict(p) for p in preset_list(user=user)])})
    body = parse_json(request)

    def create() -> dict[str, Any]:
        if preset_list(user=user).count() >= MAX_PRESETS:
            raise BadRequest(f"You have {MAX_PRESETS} presets, the most there can be. Delete one first.",
                             code="too_many_presets")  # fmt: skip
        return preset_to_dict(preset_save(user=user, **_changes(body, creating=True)))

    return JsonResponse(await run_db(create), status=201)


@api_view(["GET", "PATCH", "DELETE"])
async def preset_detail_view(request: HttpRequest, preset_id: str) -> HttpResponse:
    user = request.api_user
    if request.method == "GET":
        return JsonResponse(await run_db(lambda: preset_to_dict(preset_get(user=user, preset_id=preset_id))))
    if request.method == "DELETE":
        await run_db(lambda: preset_get(user=user, preset_id=preset_id).delete())
        return HttpResponse(status=204)
    body = parse_json(request)

    def change() -> dict[str, Any]:
        preset = preset_get(user=user, preset_id=preset_id)
        return preset_to_dict(preset_save(user=user, preset=preset, **_changes(body, creating=False)))

    return JsonResponse(await run_db(change))
