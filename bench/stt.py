"""Speech-to-text: real-time factor, peak memory and load time for each engine and bundled model.

    .venv/bin/python bench/stt.py [--repeat 3] [--skip-e2e]

Each configuration runs in a fresh process (so peak memory is its own) with 2 threads and a warm model,
on a 10 s clip and a 3 s clip of espeak-ng speech. Variants: greedy against beam search (5), and
faster-whisper with its VAD trimming silence first. It then measures a voice message end to end with the
default settings: from the upload finishing to the first token of the answer, with a local upstream.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import ENV, ROOT, pct, start_server, start_upstream

CLIPS = {"10s": ROOT / "tests/fixtures/audio/weather.wav", "3s": ROOT / "tests/fixtures/audio/capital.wav"}
CONFIGS = [
    ("openai-whisper", "base", 1, False),
    ("openai-whisper", "tiny.en", 1, False),
    ("openai-whisper", "base", 5, False),
    ("faster-whisper", "base", 1, False),
    ("faster-whisper", "tiny.en", 1, False),
    ("faster-whisper", "base", 5, False),
    ("faster-whisper", "tiny.en", 1, True),
]

WORKER = r"""
import json, resource, sys, time
import django
django.setup()
from django.conf import settings
engine_name, model, beam, vad, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
settings.WHISPER_THREADS, settings.WHISPER_BEAM_SIZE = 2, beam
from voice.audio.decoding import decode
from voice.transcription.registry import get_engine
engine = get_engine(engine_name, model)
started = time.perf_counter(); engine.load(); load = time.perf_counter() - started
out = {"load_s": load}
for name, path in json.loads(sys.argv[6]).items():
    samples = decode(path, max_seconds=60, timeout=30).samples
    seconds = len(samples) / 16000
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        if vad:
            segments, _ = engine._model.transcribe(samples, beam_size=beam, vad_filter=True)
            text = " ".join(s.text for s in segments)
        else:
            text = engine.transcribe(samples).text
        times.append(time.perf_counter() - t)
    best = min(times[1:])
    out[name] = {"rtf": best / seconds, "seconds": best, "text": text.strip()[:60]}
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run_config(engine: str, model: str, beam: int, vad: bool, repeat: int) -> dict:
    clips = json.dumps({k: str(v) for k, v in CLIPS.items()})
    result = subprocess.run(
        [sys.executable, "-c", WORKER, engine, model, str(beam), "1" if vad else "0", str(repeat), clips],
        cwd=ROOT, env={**ENV, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


async def _first_token_after_upload(port: int, token: str, fields: dict[str, str], audio: bytes) -> float:
    """Write one multipart voice request; milliseconds from its last byte sent to the first token event."""
    import asyncio

    boundary = "benchboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]  # fmt: skip
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
                 "Content-Type: audio/wav\r\n\r\n".encode() + audio + f"\r\n--{boundary}--\r\n".encode())  # fmt: skip
    body = b"".join(parts)
    head = (f"POST /api/chat/voice HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    sent = time.perf_counter()
    received = b""
    while b'"type":"token"' not in received:
        chunk = await reader.read(65536)
        if not chunk:
            raise RuntimeError(received.decode(errors="replace")[-500:])
        received += chunk
    writer.close()
    return (time.perf_counter() - sent) * 1000


def voice_turn_latency(runs: int) -> list[float]:
    """Upload finished -> first token event, for a voice message (the page's microphone: ``/api/chat/voice``
    with the default settings, so the voice engine) and a local upstream that answers at once."""
    import asyncio

    from common import setup_django

    setup_django()
    from django.contrib.auth import get_user_model

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance, ChatModel

    upstream = start_upstream(20, 0.0, 18531)
    server = start_server("daphne", 18530)
    try:
        user = get_user_model().objects.create_user(f"stt{time.time()}")
        model = ChatModel.objects.create(name=f"stt{time.time()}", base_url="http://127.0.0.1:18531/v1")
        token = api_token_create(user=user)[1]
        audio = CLIPS["3s"].read_bytes()
        latencies = []
        for _ in range(runs + 1):
            chat = ChatInstance.objects.create(owner=user, chat_model=model)
            fields = {"chatModelId": model.public_id, "chatInstanceId": chat.public_id, "stream": "true"}
            latencies.append(asyncio.run(_first_token_after_upload(18530, token, fields, audio)))
        return latencies[1:]  # the first run loads the model
    finally:
        server.terminate()
        upstream.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    print("speech-to-text benchmark: 2 threads, warm models, best of", args.repeat, "runs")
    print(f"  {'engine':15} {'model':8} {'decoding':14} {'load s':>7} {'RTF 10s':>8} {'RTF 3s':>7} {'peak MB':>8}"
          "  goal RTF 10s <= 0.1")  # fmt: skip
    for engine, model, beam, vad in CONFIGS:
        result = run_config(engine, model, beam, vad, args.repeat)
        decoding = ("greedy" if beam == 1 else f"beam {beam}") + (" + VAD" if vad else "")
        rtf10 = result["10s"]["rtf"]
        print(f"  {engine:15} {model:8} {decoding:14} {result['load_s']:7.2f} {rtf10:8.3f} {result['3s']['rtf']:7.3f} "
              f"{result['peak_rss_mb']:8.0f}  {rtf10 / 0.1:.1f}x the goal")  # fmt: skip
    if not args.skip_e2e:
        latencies = voice_turn_latency(5)
        print(f"  voice message, upload finished -> first token (default settings, 3 s clip): "
              f"p50 {pct(latencies, 50):.0f} ms, max {max(latencies):.0f} ms  (goal < 1000 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
