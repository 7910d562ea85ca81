"""An asyncio server on an event loop of its own thread: the tests' peers (the model server, proxies)."""

from __future__ import annotations

import asyncio
import threading


class ThreadedServer:
    """Subclasses set ``self._server`` in ``start()``; ``start_in_thread``/``stop_thread`` do the rest."""

    _server: asyncio.AbstractServer | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    async def start(self) -> None:
        raise NotImplementedError

    def start_in_thread(self):
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name=type(self).__name__)
        self._thread.start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        """Close the server, cancel what it still runs, and stop its loop."""
        if self._loop is None:
            return

        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)
