"""Copies and overrides of framework internals, kept together and fenced.

Each module here follows code inside Django, Channels or asgiref, for speed (see each module's docstring and
docs/benchmarks.md). ``FOLLOWS`` records, for each module, the upstream code it follows and a hash
of that code's source as installed from the locked versions; ``tests/compat/`` fails when an upgrade changes
any of it. Then re-read the upstream code beside the module here, carry its change over (or drop the copy),
and record the new hash.
"""

from __future__ import annotations

FOLLOWS: dict[str, dict[str, str]] = {
    # Django 5.2's ASGIHandler.handle, minus the two threads it starts per request (and asgiref's
    # thread-sensitive context, whose executors it inspects).
    "config.compat.handler": {
        "django.core.handlers.asgi.ASGIHandler.handle": "98faeb5bef800331",
        "django.core.asgi.get_asgi_application": "5f47704332ead684",
        "asgiref.sync.SyncToAsync.__call__": "6376e33c6d3d94c5",
    },
    # Django's standard middleware, run inline on async requests: their hooks must stay free of I/O.
    "config.compat.middleware": {
        "django.utils.deprecation.MiddlewareMixin": "719062a110865f71",
        "django.middleware.security.SecurityMiddleware": "7c0daafdd127de47",
        "django.contrib.sessions.middleware.SessionMiddleware": "81dfc7bdab259429",
        "django.middleware.common.CommonMiddleware": "0a9411bc1510a38c",
        "django.middleware.csrf.CsrfViewMiddleware": "461e7a1110dea43f",
        "django.contrib.auth.middleware.AuthenticationMiddleware": "016788fb7214c6ed",
        "django.contrib.messages.middleware.MessageMiddleware": "68bbf99a11d6e87e",
        "django.middleware.clickjacking.XFrameOptionsMiddleware": "b005c3dcd16801e1",
    },
    # Channels' in-memory layer, with a fan-out linear in the number of tabs.
    "config.compat.layers": {
        "channels.layers.InMemoryChannelLayer": "aa69668efe7fe2dd",
    },
    # Channels' consumer loop and dispatch: no thread hop per message, one reader task per source.
    "config.compat.consumers": {
        "channels.consumer.AsyncConsumer.__call__": "e52238720872dbc3",
        "channels.utils.await_many_dispatch": "30ef889498560da3",
        "channels.consumer.AsyncConsumer.dispatch": "39f34e7d4fb0f655",
    },
}
