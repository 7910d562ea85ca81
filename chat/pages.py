"""The browser pages. The chat itself is driven by static/js/app.js over the JSON API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from chat.models import ChatInstance


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    """Pick up where the person was: their most recent chat, or an empty page to start one."""
    latest = ChatInstance.objects.filter(owner=request.user).order_by("-updated_at").first()
    if latest is not None:
        return redirect("chat-page", chat_id=latest.public_id)
    return render(request, "chat/app.html", {"chat": None})


@login_required
@ensure_csrf_cookie
def chat_page(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = ChatInstance.objects.filter(owner=request.user, public_id=chat_id).first()
    if chat is None:
        raise Http404("No such chat.")
    return render(request, "chat/app.html", {"chat": chat})
