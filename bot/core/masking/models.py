"""The language models behind the masker, loaded once, lazily and thread-safely.

natasha 1.6.0 bundles its news NER model (PER/LOC/ORG) and the navec vectors
it needs inside the wheel, so nothing is downloaded. Its morphology is
pymorphy2 (through natasha's MorphVocab), which gives the Name/Surn/Patr
grammemes the name rules use; pymorphy2 finds its dictionary through
pkg_resources, hence setuptools < 81 in pyproject.toml.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})


@dataclass(frozen=True)
class Models:
    segmenter: Any
    ner: Any
    morph: Any  # natasha.MorphVocab: a pymorphy2 MorphAnalyzer
    blas: Any  # threadpoolctl.ThreadpoolController
    load_seconds: float


_models: Models | None = None
_lock = threading.Lock()


def models() -> Models:
    """The loaded models; the first caller loads them (~1 s), the others wait for it."""
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                _models = _load()
    return _models


def _load() -> Models:
    started = time.perf_counter()
    logging.getLogger("pymorphy2").setLevel(logging.WARNING)  # it announces its dictionary at INFO
    with warnings.catch_warnings():  # pkg_resources announces its own deprecation on import
        warnings.simplefilter("ignore")
        from natasha import MorphVocab, NewsEmbedding, NewsNERTagger, Segmenter

        morph = MorphVocab()
    from threadpoolctl import ThreadpoolController

    return Models(
        segmenter=Segmenter(),
        ner=NewsNERTagger(NewsEmbedding()),
        morph=morph,
        blas=ThreadpoolController(),
        load_seconds=time.perf_counter() - started,
    )


_ner_lock = threading.Lock()


def ner_spans(text: str) -> list[Any]:
    """natasha's PER/LOC/ORG spans of `text` (objects with .start, .stop, .type).

    The model multiplies tiny matrices: OpenBLAS's worker threads only cost here (a
    parse takes ~2 ms on one thread and 10-40 ms with two on a busy machine), so the
    call runs on one; the lock keeps concurrent callers from undoing each other's limit."""
    from natasha import Doc

    m = models()
    doc = Doc(text)
    with _ner_lock, m.blas.limit(limits=1, user_api="blas"):
        doc.segment(m.segmenter)
        doc.tag_ner(m.ner)
    return list(doc.spans)


@dataclass(frozen=True)
class WordInfo:
    name: float  # probability that the word is a first name, surname or patronymic
    first_name: float  # … a first name or patronymic (Name/Patr: a closed class, unlike Surn)
    top: str  # the most likely part of speech
    top_tag: str  # the whole tag of the most likely parse
    nominative_name: bool  # some name parse is in the nominative
    gent_or_adj: bool  # genitive noun or adjective: the shape of street names (Ленина, Мира, Садовая)
    known: bool  # in the dictionary (pymorphy guesses unknown words, ЕГАИС included, as names)


@lru_cache(maxsize=50_000)
def word_info(word: str) -> WordInfo:
    morph = models().morph
    parses = morph.parse(word.lower())
    name = first = 0.0
    nominative = street = False
    for p in parses:
        grammemes = p.tag.grammemes
        if grammemes & NAME_GRAMMEMES:
            name += p.score
            if grammemes & {"Name", "Patr"}:
                first += p.score
            nominative = nominative or "nomn" in grammemes
        if ("NOUN" in grammemes and "gent" in grammemes) or "ADJF" in grammemes:
            street = street or p.score >= 0.05
    top = parses[0].tag if parses else None
    return WordInfo(
        name=min(name, 1.0),
        first_name=min(first, 1.0),
        top=str(top.POS) if top else "",
        top_tag=str(top) if top else "",
        nominative_name=nominative,
        gent_or_adj=street,
        known=morph.word_is_known(word.lower()),
    )
