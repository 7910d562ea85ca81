"""Django's deploy checks (``manage.py check --deploy``), kept honest with the middleware of ``config.compat``.

Django's security checks look for its stock middleware by dotted path. The inline copies in
``config.compat.middleware`` subclass that middleware and do the same, so Django would warn that security,
clickjacking and CSRF protection are off (W001, W002, W003: silenced in the settings) and, worse, skip the
checks that depend on them (HSTS, SSL redirect, nosniff, secure cookies…), which pass when the middleware
is absent. This check runs those with each copy standing for the middleware it replaces, so they report
what Django would report for the stock middleware.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.checks.security import base, csrf, sessions
from django.test.utils import override_settings

STOCK = {
    "config.compat.middleware.SecurityMiddleware": "django.middleware.security.SecurityMiddleware",
    "config.compat.middleware.SessionMiddleware": "django.contrib.sessions.middleware.SessionMiddleware",
    "config.compat.middleware.CommonMiddleware": "django.middleware.common.CommonMiddleware",
    "config.compat.middleware.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    "config.compat.middleware.AuthenticationMiddleware": "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.compat.middleware.MessageMiddleware": "django.contrib.messages.middleware.MessageMiddleware",
    "config.compat.middleware.XFrameOptionsMiddleware": "django.middleware.clickjacking.XFrameOptionsMiddleware",
}

# Django's checks that ask whether its stock middleware is installed (django/core/checks/security/).
MIDDLEWARE_CHECKS = [
    base.check_security_middleware, base.check_xframe_options_middleware, csrf.check_csrf_middleware,
    base.check_sts, base.check_sts_include_subdomains, base.check_sts_preload, base.check_content_type_nosniff,
    base.check_ssl_redirect, base.check_xframe_deny, base.check_referrer_policy,
    base.check_cross_origin_opener_policy, csrf.check_csrf_cookie_secure, sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
]  # fmt: skip


@checks.register(checks.Tags.security, deploy=True)
def check_security_with_inline_middleware(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Django's middleware-dependent security checks, with ``config.compat``'s copies counted as the stock
    middleware they replace."""
    if not any(name in STOCK for name in settings.MIDDLEWARE):
        return []  # Django's own checks already see the stock middleware
    with override_settings(MIDDLEWARE=[STOCK.get(name, name) for name in settings.MIDDLEWARE]):
        found = [message for check in MIDDLEWARE_CHECKS for message in check(app_configs)]
    return [_renamed(message) if message.id in SILENCED else message for message in found]


# Django's own checks report these for the inline copies, which do the job: silenced in the settings, and
# reported here as config.W001… when the middleware really is missing.
SILENCED = ["security.W001", "security.W002", "security.W003"]


def _renamed(message: checks.CheckMessage) -> checks.CheckMessage:
    return checks.Warning(message.msg, hint=message.hint, id=message.id.replace("security.", "config."))
