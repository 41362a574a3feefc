"""The normalisation stage before understanding (issue 18): wrong keyboard layout
(both directions), transliterated Russian, spelling of rare and domain words."""

from .lexicon import Lexicon
from .normalizer import Change, Normalized, Normalizer
from .spelling import Speller

__all__ = ["Change", "Lexicon", "Normalized", "Normalizer", "Speller"]
