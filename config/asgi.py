"""ASGI entry point: HTTP goes to Django, websockets to Channels."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402

from config.compat.handler import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from config.logs import install_redaction  # noqa: E402

install_redaction()  # the server's own loggers log websocket URLs, ``?token=`` included

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from chat.ws.routing import websocket_application  # noqa: E402
from config.headers import StaticHeaders  # noqa: E402
from config.limits import BodySizeLimit  # noqa: E402

http_app = StaticHeaders(ASGIStaticFilesHandler(django_asgi_app)) if settings.SERVE_STATIC else django_asgi_app
http_app = BodySizeLimit(http_app)

from django.urls import get_resolver  # noqa: E402

from chat.turns.upstream import provider_class  # noqa: E402

# Import the URLconf (and the views it pulls in, numpy among them) and the HTTP provider now, not on the
# first request's clock.
get_resolver().resolve("/healthz")
provider_class("openai")

if settings.LOCAL_LLM_PRELOAD:
    from chat.turns.upstream import preload_default_local
    from voice.synthesis.worker import preload

    preload_default_local()
    preload()  # the speech engine too: the first spoken reply does not wait for the voice to load

from chat.turns.shutdown import GracefulShutdown  # noqa: E402

application = GracefulShutdown(ProtocolTypeRouter({"http": http_app, "websocket": websocket_application}))

# Everything loaded so far (Django, the URLconf, the models, the providers) lives as long as the process:
# collected once here, then frozen out of the garbage collector's view. Without this, each full collection
# under load walks every object of startup too, a pause of 60 ms or more on a small machine that every
# request waiting at that moment feels (bench/concurrency.py: TTFT p99 at 200 new streams a second).
gc.collect()
gc.freeze()
