"""The standard Russian ЙЦУКЕН and US QWERTY layouts, key by key.

Text typed with the wrong layout on is the same keys read in the other
layout: «ghbdtn» is «привет», «пщщпду» is «google». Both directions convert
every character of a chunk (punctuation included: «,» is the key of «б»).
"""

from __future__ import annotations

# Unshifted and shifted keys of the main block, in the same order on both layouts.
_LATIN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./" + '~QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>?' + "@#$^&|"
_RUSSIAN = "ёйцукенгшщзхъфывапролджэячсмитьбю." + "ЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ," + '"№;:?/'

assert len(_LATIN) == len(_RUSSIAN)

TO_RUSSIAN = str.maketrans(_LATIN, _RUSSIAN)
TO_LATIN = str.maketrans(_RUSSIAN, _LATIN)


def to_russian(chunk: str) -> str:
    """What the keys of `chunk`, typed in the Latin layout, give in the Russian one."""
    return chunk.translate(TO_RUSSIAN)


def to_latin(chunk: str) -> str:
    """What the keys of `chunk`, typed in the Russian layout, give in the Latin one."""
    return chunk.translate(TO_LATIN)
