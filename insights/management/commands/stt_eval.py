"""Replay the recordings reviewers corrected through speech engines, and compare WER, CER and speed."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from insights.stt import engines_evaluate
from voice.exceptions import TranscriptionUnavailable


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f}%"


class Command(BaseCommand):
    help = (
        "Transcribe the corrected recordings with each engine and model and print WER, CER and the real-time "
        "factor side by side. --engine E --model M pairs, in order; one engine with several models tries each."
    )

    def add_arguments(self, parser):
        parser.add_argument("--engine", action="append", default=[], help="e.g. openai-whisper, faster-whisper")
        parser.add_argument("--model", action="append", default=[], help="e.g. tiny.en, base")
        parser.add_argument("--limit", type=int, default=None, help="the newest N corrected recordings only")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def _engines(self, engines: list[str], models: list[str]) -> list[tuple[str, str]]:
        if not engines:
            engines = [settings.WHISPER_ENGINE]
        if len(engines) == 1 and len(models) > 1:
            engines = engines * len(models)
        if models and len(models) != len(engines):
            raise CommandError("Give one --model per --engine (or several models for one engine).")
        return list(zip(engines, models or [""] * len(engines), strict=True))

    def handle(self, *args, engine: list[str], model: list[str], limit: int | None, as_json: bool, **options):
        try:
            scores = [score.as_dict() for score in engines_evaluate(engines=self._engines(engine, model), limit=limit)]
        except TranscriptionUnavailable as error:
            raise CommandError(error.message) from error
        if as_json:
            self.stdout.write(json.dumps({"engines": scores}))
            return
        self.stdout.write(f"{'engine':16} {'model':10} {'WER':>7} {'CER':>7} {'RTF':>6} {'n':>5}")
        for s in scores:
            rtf = "–" if s["rtf"] is None else f"{s['rtf']:.3f}"
            self.stdout.write(
                f"{s['engine']:16} {s['model']:10} {_pct(s['wer']):>7} {_pct(s['cer']):>7} {rtf:>6} {s['n']:>5}"
            )
