"""The browser pages. The chat itself is driven by static/js/app.js over the JSON API."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from chat.models import ChatInstance
from chat.ratelimit import check_login_rate


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


class LoginView(auth_views.LoginView):
    """Django's sign-in page, with a limit on attempts per client address."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait = check_login_rate(request.META.get("REMOTE_ADDR", ""))
        if wait is not None:
            form = self.get_form()
            form.errors.clear()
            response = self.render_to_response(
                self.get_context_data(
                    form=form, rate_limited=f"Too many sign-in attempts. Try again in {wait} seconds."
                )
            )
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)
