"""WhitespaceTokenizer that also sets each token's lemma with pymorphy3.

CountVectorsFeaturizer reads ``token.lemma`` by default (``use_lemma: true``), so
"включи", "включите", "включить" all become one feature ("включить").
"""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

_morph = None


def _analyzer():
    # Loaded lazily: the dictionaries take ~1 s and ~15 MB, needless for `rasa --help`.
    global _morph
    if _morph is None:
        import pymorphy3

        _morph = pymorphy3.MorphAnalyzer(lang="ru")
    return _morph


@functools.lru_cache(maxsize=100_000)
def lemma(word: Text) -> Text:
    """Normal form of one word: lowercased, ё→е, the most probable parse."""
    word = word.lower().replace("ё", "е")
    if not any(ch.isalpha() for ch in word):
        return word  # numbers, codes: nothing to normalise
    return _analyzer().parse(word)[0].normal_form.replace("ё", "е")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class PymorphyLemmatizer(WhitespaceTokenizer):
    """Whitespace tokens (offsets unchanged, so entities still align) + lemmas."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return WhitespaceTokenizer.get_default_config()

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = lemma(token.text)
        return tokens
