"""The browser pages. The chat itself is driven by static/js/app.js over the JSON API."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from chat.domain.db import run_db
from chat.domain.selectors import chat_find, chat_latest
from chat.domain.sharing import share_page_messages, share_public_get
from chat.http.ratelimit import login_wait, remember_device
from chat.http.shares import unlisted
from config.headers import PAGE_CSP


def content_security_policy(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", PAGE_CSP)
        return response

    return wrapper


@content_security_policy
@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    """Pick up where the person was: their most recent chat with a message in it, or a new chat."""
    latest = chat_latest(user=request.user)
    if latest is not None:
        return redirect("chat-page", chat_id=latest.public_id)
    return new_chat(request)


@content_security_policy
@login_required
@ensure_csrf_cookie
def new_chat(request: HttpRequest) -> HttpResponse:
    """An empty page: the chat is created with its first message."""
    return render(request, "chat/app.html", {"chat": None})


@content_security_policy
@login_required
@ensure_csrf_cookie
def chat_page(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = chat_find(user=request.user, chat_id=chat_id)
    if chat is None:
        raise Http404("No such chat.")
    return render(request, "chat/app.html", {"chat": chat})


@require_safe
async def share_page(request: HttpRequest, share_id: str) -> HttpResponse:
    """A shared chat, read-only, for anyone with the link: no sign-in, no script, not indexed.

    Async, as the API's views are: a page anyone may open starts no thread of its own (its template reads
    nothing from the database)."""
    share = await run_db(share_public_get, share_id=share_id)
    if share is None:
        response = render(request, "404.html", status=404)
    else:
        context = {"share": share, "title": share.title or "Shared chat", "messages": share_page_messages(share)}
        response = render(request, "chat/share.html", context)
    response["Content-Security-Policy"] = PAGE_CSP
    return unlisted(response)


def login_refused(request: HttpRequest) -> HttpResponse | None:
    """A 429 sign-in page while this address or username has failed too often, else None.

    Failures are counted by the ``user_login_failed`` signal (``chat.apps``), so every form that signs in
    through ``authenticate`` (this page, the admin's) shares the same counters.
    """
    if request.method != "POST":
        return None
    wait = login_wait(request, request.POST.get("username", ""))
    if wait is None:
        return None
    context = {"rate_limited": f"Too many sign-in attempts. Try again in {wait} seconds.",
               "next": request.GET.get("next", request.POST.get("next", ""))}  # fmt: skip
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def signed_in(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A sign-in form's response: a browser that has just signed in is remembered as one of the user's."""
    if request.method == "POST" and request.user.is_authenticated:
        remember_device(response, request.user.get_username())
    return response


@method_decorator(content_security_policy, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's sign-in page, with the limit on failed attempts."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return login_refused(request) or signed_in(request, super().post(request, *args, **kwargs))


class AdminSite(admin.AdminSite):
    """Django's admin site, with the same limit on failed sign-ins as the sign-in page."""

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return login_refused(request) or signed_in(request, super().login(request, extra_context))
