"""A call's audio arrives in pieces; how it is cut must not change what the recogniser hears
(per-piece resampling put a seam every 60 ms, and Whisper transcribed «как перейти на усн» as
«как пилитина в сн» at one piece size and right at another)."""

from __future__ import annotations

import numpy as np
import pytest

from voice.audio import StreamResampler, resample

PCM = np.random.default_rng(7).normal(0, 3000, 8000).astype("<i2").tobytes()


def _in_pieces(src: int, dst: int, size: int) -> np.ndarray:
    resampler = StreamResampler(src, dst)
    return np.concatenate([resampler.feed(PCM[i : i + size]) for i in range(0, len(PCM), size)])


@pytest.mark.parametrize("src, dst", [(8000, 16000), (48000, 16000), (44100, 16000), (16000, 16000)])
@pytest.mark.parametrize("size", [1, 320, 960, 1999])  # odd sizes split a sample between pieces
def test_pieces_of_any_size_give_the_same_audio(src, dst, size):
    assert np.array_equal(_in_pieces(src, dst, size), StreamResampler(src, dst).feed(PCM))


def test_upsampling_a_stream_equals_resampling_it_whole():
    whole = np.frombuffer(resample(PCM, 8000, 16000), dtype="<i2")
    streamed = _in_pieces(8000, 16000, 960)
    assert np.array_equal(streamed, whole[: len(streamed)])  # all but the last sample, which waits for more
    assert len(streamed) == len(whole) - 1


def test_resampling_each_piece_alone_would_not():
    pieces = [resample(PCM[i : i + 960], 8000, 16000) for i in range(0, len(PCM), 960)]
    alone = np.frombuffer(b"".join(pieces), dtype="<i2")
    assert not np.array_equal(
        alone[: len(alone) - 1], np.frombuffer(resample(PCM, 8000, 16000), dtype="<i2")[: len(alone) - 1]
    )
