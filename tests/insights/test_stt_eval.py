"""stt_eval on real speech (espeak-ng, tests/fixtures/audio) with reviewers' corrections, one of them wrong on
purpose, and the export of the labelled set."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command

from chat.models import ChatInstance, ChatModel, Message
from tests.support.audio import AUDIO
from voice.models import AudioRecording

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CAPITAL = "What is the capital of France?"  # what espeak-ng says in capital.wav, corrected rightly
# weather.wav says "… in London tomorrow morning … bring an umbrella to work": corrected wrongly, three words.
WRONG = ("Please tell me about the weather in Paris tomorrow evening. I would like to know if it will rain, how "
         "warm it will be, and whether I should bring a coat to work.")  # fmt: skip


@pytest.fixture
def labelled(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = get_user_model().objects.create_user("speaker")
    chat = ChatInstance.objects.create(owner=owner, chat_model=ChatModel.objects.create(name="m", provider="local"))
    for seq, (fixture, heard, corrected) in enumerate([
        ("capital.wav", "what is the capitol of france", CAPITAL),
        ("weather.wav", "please tell me about the weather", WRONG),
        ("hiss.wav", "thank you", ""),  # not corrected: not in the labelled set
    ], start=1):  # fmt: skip
        message = Message.objects.create(chat=chat, seq=seq, role="user", source="voice", content=heard,
                                         corrected_content=corrected)  # fmt: skip
        AudioRecording.objects.create(
            message=message,
            file=ContentFile((AUDIO / fixture).read_bytes(), name=fixture),
            format="wav",
            content_type="audio/wav",
            size_bytes=1,
            duration_ms=1,
            language="en",
            engine="openai-whisper",
            model_name="base",
            transcription_ms=1,
        )


def test_engines_side_by_side_against_the_corrections(labelled):
    out = io.StringIO()
    call_command("stt_eval", "--engine", "faster-whisper", "--model", "tiny.en", "--engine", "openai-whisper",
                 "--model", "tiny.en", "--json", stdout=out)  # fmt: skip
    engines = json.loads(out.getvalue())["engines"]
    assert [(e["engine"], e["model"], e["n"]) for e in engines] == [("faster-whisper", "tiny.en", 2),
                                                                   ("openai-whisper", "tiny.en", 2)]  # fmt: skip
    for engine in engines:
        # 39 reference words, 3 of them wrong in the correction: the engine is blamed for those (3/39 = 7.7%).
        assert 3 / 39 - 0.001 <= engine["wer"] < 0.2
        assert 0 < engine["cer"] < engine["wer"]
        assert 0 < engine["rtf"] < 20


def test_the_table_and_a_model_not_offered(labelled):
    out = io.StringIO()
    call_command("stt_eval", "--engine", "faster-whisper", "--model", "tiny.en", stdout=out)
    header, row = out.getvalue().splitlines()
    assert header.split() == ["engine", "model", "WER", "CER", "RTF", "n"]
    assert row.split()[:2] == ["faster-whisper", "tiny.en"] and row.split()[-1] == "2"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not offered"):
        call_command("stt_eval", "--engine", "faster-whisper", "--model", "large-v9", stdout=io.StringIO())


def test_export_of_the_labelled_set(labelled, tmp_path):
    call_command("stt_export", str(tmp_path / "set"), stdout=io.StringIO())
    lines = [json.loads(line) for line in (tmp_path / "set" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(line["text"] for line in lines) == sorted([CAPITAL, WRONG])
    for line in lines:
        assert (tmp_path / "set" / line["audio"]).read_bytes()[:4] == b"RIFF"
        assert line["language"] == "en" and line["transcript"]
