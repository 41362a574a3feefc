"""Voice activity detection for cutting a call into utterances: Silero VAD.

The Silero model ships inside faster-whisper (an ONNX file run by
onnxruntime, ~1 ms per 32 ms window). It tells speech from steady noise far
better than a loudness threshold, so a noisy line still ends an utterance.

`StreamingVad` keeps the model's state across calls, so audio can be fed
as it arrives (16 kHz float32, any chunk size) and yields one speech
probability per 32 ms window.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RATE = 16000
WINDOW = 512  # samples: 32 ms at 16 kHz
CONTEXT = 64  # samples of the previous window the model sees


@lru_cache(maxsize=1)
def _session():
    import os

    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 4
    return onnxruntime.InferenceSession(
        os.path.join(get_assets_path(), "silero_vad_v6.onnx"), providers=["CPUExecutionProvider"], sess_options=opts
    )


def available() -> bool:
    try:
        _session()
    except Exception:  # noqa: BLE001 - no faster-whisper / onnxruntime: no Silero
        return False
    return True


class StreamingVad:
    def __init__(self):
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, audio: np.ndarray) -> list[float]:
        """Speech probability of each complete 32 ms window now available."""
        self._pending = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        n = len(self._pending) // WINDOW
        if n == 0:
            return []
        windows = self._pending[: n * WINDOW].reshape(n, WINDOW)
        self._pending = self._pending[n * WINDOW :]
        contexts = np.vstack([self._context[None, :], windows[:-1, -CONTEXT:]])
        self._context = windows[-1, -CONTEXT:].copy()
        batch = np.ascontiguousarray(np.concatenate([contexts, windows], axis=1))
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return [float(p) for p in np.asarray(out).reshape(-1)]
