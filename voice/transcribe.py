"""Transcribe recordings with the configured speech recogniser — for choosing a model.

    .venv/bin/python -m voice.transcribe FILE.wav [FILE.wav …]

Prints one line per file: the recognised text (empty if nothing was heard).
Any sample rate, mono or stereo; WAV or anything FFmpeg reads (OGG, MP3…).
The recogniser comes from the settings as for the voice line (VOICE_RECOGNIZER,
VOSK_MODEL_PATH, WHISPER_MODEL_PATH, WHISPER_BEAM_SIZE); `--recognizer` and
`--model` override them for a quick comparison.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice.transcribe", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="recordings to transcribe")
    parser.add_argument("--recognizer", choices=["vosk", "whisper"], help="override VOICE_RECOGNIZER")
    parser.add_argument("--model", default=None, help="model folder (VOSK_MODEL_PATH / WHISPER_MODEL_PATH)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    from bot.settings import get_settings

    from .audio import read_audio
    from .recognizer import choose, open_model

    settings = get_settings()
    overrides: dict = {}
    if args.recognizer:
        overrides["voice_recognizer"] = args.recognizer
    if args.model is not None:
        overrides[f"{args.recognizer or choose(settings).engine or 'whisper'}_model_path"] = args.model
    settings = settings.model_copy(update=overrides)
    choice = choose(settings)
    if not choice.engine:
        print(f"No speech recogniser: {choice.why_none}", file=sys.stderr)
        return 2
    try:
        model = open_model(choice, settings)
    except Exception as exc:  # noqa: BLE001 - tell the administrator why, no traceback
        print(f"Cannot load the {choice.engine} model: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"# {model.name}", file=sys.stderr)
    failed = 0
    for path in args.files:
        try:
            pcm, rate = read_audio(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - one bad file does not stop the others
            print(f"# {path}: cannot read: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            print("")
            failed += 1
            continue
        print(model.transcribe(pcm, rate), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
