"""The standard's indicators (section 6, table 1, #2–5) and their star levels: pure
arithmetic over counts, no I/O.

    #2 ease           share of «Легко» + «Скорее легко»              more is better
    #3 NPS            share of services whose NPS is positive        more is better
    #4 repeat         share of repeat requests for the same service  less is better
                      within 4 weeks
    #5 satisfaction   share of «Удовлетворён» + «Скорее удовлетворён» more is better

Levels «от 50,1% до 60%» … «от 90,1% до 100%» are 1…5 stars; below 50,1% is no
star. Repeat requests: «менее 10%» is 1 star … «менее 0,5%» is 5. A sample
smaller than the minimum gets no level at all: «мало данных».
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The lower bound (in percent, as the standard writes it) of 1…5 stars.
SHARE_LEVELS: tuple[float, ...] = (50.1, 60.1, 70.1, 80.1, 90.1)
# The upper bound (exclusive, percent) of repeat requests for 1…5 stars.
REPEAT_LEVELS: tuple[float, ...] = (10.0, 7.0, 4.0, 1.0, 0.5)

FEW = "мало данных"


def share_stars(value: float) -> int:
    """Stars of a «share of good ratings» indicator; `value` is 0…1. The standard's
    levels are written to one decimal of a percent, so the share is rounded so too."""
    percent = round(value * 100, 1)
    return sum(1 for bound in SHARE_LEVELS if percent >= bound)


def repeat_stars(value: float) -> int:
    """Stars of the repeat-request share (0…1): fewer repeats, more stars."""
    percent = value * 100
    return sum(1 for bound in REPEAT_LEVELS if percent < bound)


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    """Net promoter score in −100…100 (promoters 9–10, detractors 0–6), None without answers."""
    return (promoters - detractors) * 100 / answers if answers else None


def nps_class(score: int) -> str:
    return "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"


@dataclass(frozen=True)
class Indicator:
    """One indicator as the page and the export show it."""

    key: str
    title: str
    value: float | None  # a share 0…1 (or NPS −100…100 for kind "nps")
    sample: int  # how many ratings / requests / services it rests on
    stars: int | None  # None: «мало данных»; 0: below one star
    kind: str = "share"  # share | nps | seconds | count

    @property
    def level(self) -> str:
        if self.stars is None:
            return FEW
        if self.stars == 0:
            return "ниже 1 звезды"
        return "★" * self.stars + "☆" * (5 - self.stars)

    def shown(self) -> str:
        """The value in Russian notation: «72,5 %», «+12», «3 мин 5 с», «—»."""
        if self.value is None:
            return "—"
        if self.kind == "share":
            return f"{self.value * 100:.1f}".replace(".", ",") + " %"
        if self.kind == "nps":
            return f"{self.value:+.0f}"
        if self.kind == "seconds":
            minutes, seconds = divmod(round(self.value), 60)
            return f"{minutes} мин {seconds} с" if minutes else f"{seconds} с"
        return str(int(self.value))


def share(good: int, total: int) -> float | None:
    return good / total if total else None


def graded(
    key: str, title: str, good: int, total: int, min_sample: int, stars_of=share_stars, kind: str = "share"
) -> Indicator:
    """A share with its star level, or «мало данных» below `min_sample`."""
    value = share(good, total)
    stars = stars_of(value) if value is not None and total >= min_sample else None
    return Indicator(key, title, value, total, stars, kind)


def services_with_positive_nps(per_service: Mapping[str, tuple[int, int, int]], min_sample: int) -> Indicator:
    """#3: the share of services (topics) whose NPS is above zero. `per_service` maps a
    topic to (promoters, detractors, answers); the level needs `min_sample` answers in all."""
    rated = {topic: counts for topic, counts in per_service.items() if counts[2]}
    positive = sum(1 for p, d, n in rated.values() if (nps(p, d, n) or 0) > 0)
    answers = sum(n for _, _, n in rated.values())
    value = share(positive, len(rated))
    stars = share_stars(value) if value is not None and answers >= min_sample else None
    return Indicator("nps_services", TITLES["nps_services"], value, answers, stars)


TITLES = {
    "ease": "Простота (оценки «Легко» и «Скорее легко»)",
    "nps_services": "Доля услуг с положительным NPS",
    "repeat": "Повторные запросы той же услуги в течение 4 недель",
    "satisfaction": "Удовлетворённость (оценки «Удовлетворён» и «Скорее удовлетворён»)",
}
