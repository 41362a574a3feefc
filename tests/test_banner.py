"""The launcher's banner tells where everything is and how to turn on what is off."""

from __future__ import annotations

from bot.__main__ import _banner

API = "http://127.0.0.1:8000"


def _lines(settings, **update) -> dict[str, str]:
    text = _banner(settings.model_copy(update=update), API, "embedded Redis", "off")
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}


def test_banner_shows_the_console_and_how_to_create_an_operator(settings):
    line = _lines(settings)["Operators"]
    assert f"{API}/console" in line and ".venv/bin/python -m handoff.users add NAME --role operator" in line


def test_banner_says_why_the_voice_line_is_off_or_where_it_answers(settings):
    assert "off — set VOSK_MODEL_PATH" in _lines(settings, vosk_model_path="")["Voice"]
    on = _lines(settings, vosk_model_path="/models/vosk-ru", voice_audiosocket_port=0)["Voice"]
    assert f"{API}/call" in on and "AudioSocket off" in on
    on = _lines(settings, vosk_model_path="/models/vosk-ru", voice_audiosocket_port=9092)["Voice"]
    assert "AudioSocket on 127.0.0.1:9092" in on
