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


def test_banner_says_what_the_voice_line_understands_and_where_it_answers(settings):
    keypad = _lines(settings, voice_recognizer="off")["Voice"]
    assert "keypad only" in keypad and "VOICE_RECOGNIZER=off" in keypad
    assert "Whisper (packaged base model)" in _lines(settings, vosk_model_path="")["Voice"]
    on = _lines(settings, vosk_model_path="/models/vosk-ru", voice_audiosocket_port=0)["Voice"]
    assert "Vosk (/models/vosk-ru)" in on
    assert f"{API}/call" in on and "AudioSocket off" in on
    on = _lines(settings, vosk_model_path="/models/vosk-ru", voice_audiosocket_port=9092)["Voice"]
    assert "AudioSocket on 127.0.0.1:9092" in on


def test_banner_never_prints_a_real_api_key(settings):
    line = _lines(settings, assistant_api_key="s3cret-production-key")["HTTP"]
    assert "s3cret-production-key" not in line and "ASSISTANT_API_KEY" in line
    default = _lines(settings, assistant_api_key="local-dev-key")["HTTP"]
    assert "local-dev-key" in default and "set ASSISTANT_API_KEY" in default  # said to be for this computer only


def test_the_default_key_is_refused_on_an_open_address(settings):
    from bot.__main__ import unsafe_exposure

    assert (
        unsafe_exposure(
            settings.model_copy(update={"assistant_host": "127.0.0.1", "assistant_api_key": "local-dev-key"})
        )
        == ""
    )
    why = unsafe_exposure(
        settings.model_copy(update={"assistant_host": "0.0.0.0", "assistant_api_key": "local-dev-key"})
    )
    assert "ASSISTANT_API_KEY" in why and "0.0.0.0" in why
    extra = settings.model_copy(
        update={
            "assistant_host": "0.0.0.0",
            "assistant_api_key": "long-random-key",
            "assistant_api_keys": "other,local-dev-key",
        }
    )
    assert unsafe_exposure(extra)  # the default among the extra keys is just as public
    assert (
        unsafe_exposure(
            settings.model_copy(update={"assistant_host": "0.0.0.0", "assistant_api_key": "long-random-key"})
        )
        == ""
    )


def test_banner_says_how_to_turn_on_max_and_where_the_widget_is(settings):
    assert "MAX_BOT_TOKEN" in _lines(settings)["MAX"]
    assert "long polling" in _lines(settings, max_bot_token="t")["MAX"]
    assert (
        "https://bot.example.org/max/webhook"
        in _lines(settings, max_bot_token="t", max_webhook_url="https://bot.example.org")["MAX"]
    )
    widget = _lines(settings, widget_sites="", widget_demo=True)["Site"]
    assert f"{API}/widget/demo" in widget and "WIDGET_SITES" in widget
    assert "2 site(s)" in _lines(settings, widget_sites="a=https://a.ru; b=https://b.ru")["Site"]
