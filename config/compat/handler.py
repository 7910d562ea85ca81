"""Django's ASGI handler, without the two threads it starts for every request.

Django 5.2 runs each request in a fresh ``ThreadSensitiveContext`` and calls two pieces of synchronous code
through ``sync_to_async`` even when the view is async: the ``request_started`` receivers and
``response.close()`` (which sends ``request_finished``). The first such call creates the context's worker
thread, and leaving the context starts another thread to join it: two thread starts, and the event loop
waiting on each, per request. Under load that was a large share of a streamed turn's set-up cost.

Here the database receivers of ``request_started`` are dropped (a fresh context's thread has no
connections to reset or close yet), and the response is closed on the event loop unless the request
really ran synchronous code, in which case it is closed on that code's thread as Django does, so that
``close_old_connections`` releases that thread's connections. Async views reach the database through
``chat.domain.db.run_db``, whose threads clean up after every call.

The body of ``handle`` follows Django 5.2's ``ASGIHandler.handle``; only the two calls above differ.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import get_script_prefix
from django.db import close_old_connections, reset_queries
from django.urls import set_script_prefix


def _ran_sync_code() -> bool:
    """Whether this request's thread-sensitive context has a worker thread (it ran synchronous code)."""
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    context = SyncToAsync.thread_sensitive_context.get(None)
    return executors is None or (context is not None and context in executors)


class ASGIHandler(DjangoASGIHandler):
    def __init__(self):
        super().__init__()
        signals.request_started.disconnect(reset_queries)
        signals.request_started.disconnect(close_old_connections)

    async def _close(self, response) -> None:
        if _ran_sync_code():
            await sync_to_async(response.close)()
        else:
            response.close()

    async def _finished_without_response(self) -> None:
        if _ran_sync_code():
            await signals.request_finished.asend(sender=self.__class__)
        else:
            signals.request_finished.send(sender=self.__class__)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await self._close(error_response)
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # The client disconnected during send_response.
            return response

        # Watch for a disconnect while the response is produced (listen_for_disconnect first, as Django does).
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await self._finished_without_response()
        else:
            await self._close(response)
        body_file.close()


def get_asgi_application() -> ASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the handler above."""
    import django

    django.setup(set_prefix=False)
    return ASGIHandler()
