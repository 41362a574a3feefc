"""Russian written in Latin letters («kak zakryt ip»), read back into Cyrillic.

People transliterate by ear, not by one standard: «ya»/«ja»/«ia» are «я»,
«y» is «ы» or «й», «e» may be «э», «'» is the soft sign. Every reading the
common habits allow is generated (capped) and the lexicon picks the word.
"""

from __future__ import annotations

# Longest spellings first; each maps to its readings, the usual one first.
_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("shch", ("щ",)),
    ("sch", ("щ", "сч")),
    ("zh", ("ж",)),
    ("kh", ("х",)),
    ("ch", ("ч",)),
    ("sh", ("ш",)),
    ("ts", ("ц", "тс")),
    ("tz", ("ц",)),
    ("yo", ("ё", "йо")),
    ("jo", ("ё",)),
    ("yu", ("ю",)),
    ("ju", ("ю",)),
    ("iu", ("ю", "иу")),
    ("ya", ("я", "ыа")),
    ("ja", ("я",)),
    ("ia", ("я", "иа")),
    ("ye", ("е", "ые")),
    ("je", ("е",)),
    ("iya", ("ия",)),
    ("iyu", ("ию",)),
    ("iye", ("ие",)),
    ("iyo", ("иё",)),
    ("yi", ("ый", "ий")),
    ("iy", ("ий", "ый")),
    ("ij", ("ий",)),
    ("yj", ("ый",)),
    ("ii", ("ий", "ии")),
    ("y", ("ы", "й")),
    ("j", ("й", "ж")),
    ("e", ("е", "э")),
    ("'", ("ь",)),
    ("`", ("ь",)),
    ("x", ("кс", "х")),
    ("h", ("х",)),
    ("c", ("ц", "к")),
    ("w", ("в",)),
    ("q", ("к",)),
    ("a", ("а",)),
    ("b", ("б",)),
    ("v", ("в",)),
    ("g", ("г",)),
    ("d", ("д",)),
    ("z", ("з",)),
    ("i", ("и",)),
    ("k", ("к",)),
    ("l", ("л",)),
    ("m", ("м",)),
    ("n", ("н",)),
    ("o", ("о",)),
    ("p", ("п",)),
    ("r", ("р",)),
    ("s", ("с",)),
    ("t", ("т",)),
    ("u", ("у",)),
    ("f", ("ф",)),
]
_LONGEST = max(len(s) for s, _ in _RULES)
_BY_SPELLING = dict(_RULES)
_VOWELS = set("aeiouy")
# After a vowel «i» and «y» are usually «й» («pereiti», «moy»).
_AFTER_VOWEL = {"i": ("й", "и"), "y": ("й", "ы")}
_CONSONANT_END = set("бвгджзклмнпрстфхцчшщ")
MAX_READINGS = 96


def readings(word: str) -> list[str]:
    """Cyrillic readings of a transliterated word (lower case), the usual one first.
    Empty when the word has characters no rule reads (digits, other scripts)."""
    word = word.lower()
    out: list[str] = []

    def walk(i: int, prefix: str) -> None:
        if len(out) >= MAX_READINGS:
            return
        if i == len(word):
            out.append(prefix)
            if prefix[-1:] in _CONSONANT_END:  # the soft sign is often left out («zakryt»)
                out.append(prefix + "ь")
            return
        matched = False
        for size in range(min(_LONGEST, len(word) - i), 0, -1):
            spelling = word[i : i + size]
            options = _BY_SPELLING.get(spelling)
            if size == 1 and i > 0 and word[i - 1] in _VOWELS and spelling in _AFTER_VOWEL:
                options = _AFTER_VOWEL[spelling]
            if options is None:
                continue
            matched = True
            for option in options:
                walk(i + size, prefix + option)
            if size > 1:  # also read the letters one by one («sh» in «vsh…» is rare, «s»+«h» rarer)
                break
        if not matched:
            return

    walk(0, "")
    return list(dict.fromkeys(out))
