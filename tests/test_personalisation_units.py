"""The pure parts of personalisation: the segment a client gives for themselves, the
service catalogue (validation and ranking), the words of a service search, the time-zone
label."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.client_facts import replaces, segment_mentioned
from bot.services.recognise import asked_segment, asks_for_services
from handoff.schedule import load_schedule, zone_title
from knowledge_base.models import Segment
from knowledge_base.services import SERVICES_FILE, ServiceError, load_catalogue


@pytest.mark.parametrize(
    "text, segment",
    [
        ("я самозанятый фотограф, как платить налоги?", Segment.self_employed),
        ("мы самозанятые", Segment.self_employed),
        ("я плательщик НПД", Segment.self_employed),
        ("думаю открыть своё дело", Segment.future),
        ("планирую открыть бизнес", Segment.future),
        ("хочу открыть ИП", Segment.future),
        ("я ИП на УСН", Segment.ip),
        ("я уже давно ип", Segment.ip),
        ("у меня есть ип", Segment.ip),
        ("работаю как индивидуальный предприниматель", Segment.ip),
        ("у нас ООО", Segment.sme),
        ("у меня небольшое ООО, какие льготы", Segment.sme),
        ("я директор ООО", Segment.sme),
        # a subject, not the client
        ("как открыть ип", None),
        ("какие налоги у ип", None),
        ("у меня вопрос по ООО", None),
        ("хочу открыть расчётный счёт", None),
        # negated
        ("я не ИП", None),
        ("я не самозанятый", None),
    ],
)
def test_a_segment_is_taken_only_when_the_client_speaks_of_themselves(text, segment):
    assert segment_mentioned(text) == segment


def test_a_plan_does_not_replace_a_business_the_client_has():
    assert not replaces("ip", Segment.future) and not replaces("sme", Segment.future)
    assert replaces(None, Segment.future) and replaces("future", Segment.ip)


def test_the_catalogue_is_valid_and_its_buttons_lead_somewhere(runtime_free_topics):
    catalogue = load_catalogue(SERVICES_FILE, *runtime_free_topics)
    assert len(catalogue) >= 10
    assert all(len(s.title) <= 40 for s in catalogue.services)


@pytest.fixture
def runtime_free_topics() -> tuple[list[str], list[str]]:
    root = Path(__file__).parent.parent
    topics = [p.stem for p in (root / "knowledge_base" / "topics").glob("*.yaml")]
    intents = list(yaml.safe_load((root / "contract" / "intents.yaml").read_text(encoding="utf-8"))["intents"])
    return topics, intents


@pytest.mark.parametrize(
    "change, message",
    [
        ({"segments": ["universal"]}, "service consultation.segments"),
        ({"life_situations": ["holidays"]}, "unknown life situation"),
        ({"action": "faq:no_such_topic"}, "service consultation: action leads to unknown faq 'no_such_topic'"),
        ({"action": "do:no_such_intent"}, "unknown do 'no_such_intent'"),
        ({"title": "x" * 41}, "service consultation.title"),
        ({"colour": "red"}, "service consultation.colour"),
    ],
)
def test_a_wrong_service_is_named_with_its_field(tmp_path, runtime_free_topics, change, message):
    data = yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))
    data["services"][0].update(change)
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ServiceError, match=message.replace("(", r"\(")):
        load_catalogue(path, *runtime_free_topics)


def test_a_repeated_id_is_refused(tmp_path):
    data = yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))
    data["services"].append(dict(data["services"][0]))
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ServiceError, match="used twice"):
        load_catalogue(path)


def test_the_best_services_fit_the_segment_and_then_the_situation():
    catalogue = load_catalogue()
    for segment in ("future", "self_employed", "ip", "sme"):
        found = catalogue.best_for(segment, None)
        assert len(found) == 3 and all(s.open_to(segment) for s in found)
    assert catalogue.best_for("sme", "export")[0].id == "export_support"
    assert "grant_young" not in [s.id for s in catalogue.best_for("self_employed", "support", 20)]
    assert catalogue.best_for("future", "start_business")[0].segments  # one made for beginners first


@pytest.mark.parametrize(
    "text, asks",
    [
        ("какие услуги центра мне доступны?", True),
        ("Что мне доступно?", True),
        ("подберите мне услуги", True),
        ("каталог услуг", True),
        ("какие у вас есть услуги", True),
        ("на что я могу рассчитывать", True),
        ("какие услуги можно оказывать на патенте", False),
        ("патент на парикмахерские услуги", False),
        ("что мне подходит, усн или патент?", False),
        ("где находится центр", False),
    ],
)
def test_a_service_search_is_told_by_its_words(text, asks):
    assert asks_for_services(text) is asks


def test_a_search_for_a_segment():
    assert asked_segment("что доступно для ИП?") == "ip"
    assert asked_segment("что мне доступно как самозанятому") == "self_employed"
    assert asked_segment("что мне доступно?") is None


def test_the_time_zone_label_follows_the_zone():
    assert zone_title("Europe/Moscow") == "по московскому времени"
    assert zone_title("Asia/Kamchatka") == "по камчатскому времени"
    assert zone_title("Asia/Dubai") == "по времени UTC+4"
    schedule = Path(__file__).parent.parent / "handoff" / "schedule.yaml"
    assert load_schedule(schedule).timezone_title == "по камчатскому времени"
    moved = load_schedule(schedule, "Asia/Vladivostok")
    assert moved.timezone_title == "по владивостокскому времени" and "камчат" not in moved.describe()
