"""A server starting up: the replies a dead process left streaming are marked interrupted (``manage.py
interrupt_orphans``; while servers run, the reaper does it: test_event_log_processes.py), and the health and
readiness probes answer (readiness during a shutdown: test_shutdown.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import AsyncClient

from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_up_repair_marks_orphans_interrupted(chat, capsys):
    Message.objects.create(chat=chat, seq=1, role="user", content="hi")
    orphan = Message.objects.create(chat=chat, seq=2, role="assistant", status="streaming", content="")
    call_command("interrupt_orphans")
    orphan.refresh_from_db()
    assert orphan.status == "interrupted" and orphan.finish_reason == "server_restart"
    assert "1 unfinished reply" in capsys.readouterr().out


async def test_health_and_readiness():
    client = AsyncClient()
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "channel_layer": "ok"}
