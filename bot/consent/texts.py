"""What the consent flows and notifications say (Russian, «вы»), and pure
renderers of the consent state. The consent texts themselves are versioned
data in `consent_texts.yaml`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from knowledge_base.models import LIFE_SITUATIONS

from .model import ALL, Category, ConsentState, Frequency, Grant, Kind

CATEGORY_TITLES = {
    Category.content: "Новости и меры поддержки",
    Category.transactional: "Статусы заявок и платежей",
    Category.trigger: "Напоминания и сроки",
}
FREQUENCY_TITLES = {
    Frequency.immediate: "сразу",
    Frequency.daily: "раз в день, подборкой",
    Frequency.weekly: "раз в неделю, подборкой",
    Frequency.off: "не присылать",
}
CHANNEL_TITLES = {  # every channel of bot/channels/catalogue.py (tests/test_channels_table.py)
    "telegram": "в Telegram",
    "max": "в MAX",
    "widget": "в чате на сайте",
    "api": "через приложение",
    "voice": "по телефону",
    "terminal": "в чате",
    "console": "через оператора",
}
PURPOSE_TITLES = {
    "applications": "заявки",
    "payments": "оплата",
    "appointments": "запись на консультацию",
    "callback": "обратный звонок",
}
QUIET_CHOICES = {"22-08": "22:00-08:00", "21-09": "21:00-09:00", "20-10": "20:00-10:00", "off": "off"}

ALL_TOPICS = "все темы"
UNSUBSCRIBE = "Отписаться"
SETTINGS_BUTTON = "⚙️ Настроить уведомления"

GIVE_MENU = (
    "Я могу сам сообщать вам о новых мерах поддержки, услугах и важных сроках — только по темам, "
    "которые вы выберете. Выберите тему кнопкой (или «По всем темам»).\n\n"
    "Нажимая кнопку, вы соглашаетесь: «{text}» (версия {version}).\n"
    "Отозвать согласие можно в любой момент — одной кнопкой «Отписаться» в любом сообщении."
)
GIVE_ONE = "Прошу подтвердить согласие:\n\n«{text}» (версия {version})"
AGREE = "✅ Согласен(на)"
NOT_NOW = "Не сейчас"
ALL_TOPICS_BUTTON = "По всем темам"
SERVICES_BUTTON = "Об отдельной услуге"
SERVICES_MENU = (
    "О какой услуге мне сообщать вам самому — о ходе её оказания, сроках и готовности документов? "
    "Выберите услугу: я покажу текст согласия, и вы его подтвердите."
)
ANY_TOPIC = "по выбранной вами теме"  # the consent text in the menu, before a topic is chosen
GRANTED = (
    "Готово ✅ С {date} действует ваше согласие: {title}.\n"
    "Текст согласия: «{text}» (версия {version}).\n"
    "Посмотреть согласия — напишите «мои согласия», отозвать — «отпишите меня»."
)
ALREADY_GRANTED = "Это согласие уже действует — с {date}: {title}. Ничего менять не нужно."

REVOKE_MENU = (
    "Какое согласие отозвать? Нажмите кнопку — отзыв действует сразу: сообщения по нему перестанут "
    "приходить, а данные, которые вы сообщали по согласию на обработку персональных данных, я удалю."
)
REVOKE_ALL_BUTTON = "Отозвать все согласия"
KEEP_BUTTON = "Ничего не менять"
NOTHING_TO_REVOKE = (
    "У вас нет действующих согласий — сам я присылаю вам только сообщения о ваших заявках и платежах. "
    "Если захотите получать новости по своей теме, напишите «подпишите меня»."
)
REVOKED = (
    "Готово: согласие отозвано {date} — {titles}. Больше не буду присылать такие сообщения. "
    "Вернуть можно в любой момент: напишите «подпишите меня»."
)
REVOKED_PD = (
    "Готово: согласие отозвано {date} — {titles}. Данные для этой цели я больше не обрабатываю; если "
    "они снова понадобятся, я спрошу согласие заново."
)
# After a personal-data consent is withdrawn: what was deleted and what is kept (the items,
# in the client's words, come from the module that deleted them: bot/privacy).
PURGED_HEAD = "Удалил данные, которые вы сообщали для этой цели: {items}."
PURGED_NOTHING = "Персональных данных для этой цели у меня не сохранено — удалять нечего."
PURGED_KEPT = "Сохраняются: {items}."
PURGED_HISTORY = (
    "Переписка в чате остаётся, чтобы вы и операторы видели прежние вопросы; чтобы удалить "
    "и её, и всё остальное, напишите «удалите мои данные»."
)
ALREADY_REVOKED = (
    "Вы уже отписаны: {title} — сообщения по этому согласию не приходят. "
    "Посмотреть действующие согласия — напишите «мои согласия»."
)
CANCELLED = "Хорошо, ничего не меняю. Чем ещё могу помочь?"

STATUS_EMPTY = (
    "Вы пока не давали мне согласий: сам я присылаю вам только сообщения о ваших заявках и платежах и "
    "не сохраняю ваши ФИО, ИНН, телефон и другие анкетные данные. "
    "Переписка со мной хранится, чтобы вы и операторы видели прежние "
    "вопросы; удалить её и всё остальное можно, написав «удалите мои данные». Если хотите получать "
    "новости о мерах поддержки по своей теме, напишите «подпишите меня»."
)
STATUS_HEAD = "Ваши согласия:"
STATUS_WITHDRAWN = "Отозванные:"
STATUS_NOTIFY = "Уведомления: {items}. Тихие часы: {quiet}."
GIVE_BUTTON = "➕ Дать согласие"
REVOKE_BUTTON = "Отозвать согласие"

PREFS_MENU = (
    "Настройки уведомлений:\n{items}\nТихие часы (местное время): {quiet} — в это время пишу только "
    "о ваших заявках и платежах.\nВыберите, что изменить:"
)
PREFS_CATEGORY = "Как часто присылать «{title}»?"
PREFS_QUIET = "В какие часы вас не беспокоить? Сейчас: {quiet}."
NO_QUIET_BUTTON = "Не ограничивать"
QUIET_BUTTON = "Тихие часы: {quiet}"
DONE_BUTTON = "Готово"
FREQUENCY_SAVED = "Готово: «{title}» — {frequency}. Изменить можно в любой момент: «настройки уведомлений»."
QUIET_SAVED = "Готово: тихие часы — {quiet}. В это время новости и напоминания не приходят."
NO_QUIET = "не заданы"

PD_ASK = (
    "Чтобы продолжить, мне нужно ваше согласие на обработку персональных данных.\n\n"
    "«{text}» (версия {version})\n\nСогласны?"
)
PD_YES = "✅ Согласен(на)"
PD_NO = "Нет, не согласен(на)"
PD_REFUSED = (
    "Понимаю, без согласия я не сохраняю ваши анкетные данные (ФИО, ИНН, телефон). Вы по-прежнему "
    "можете: задавать вопросы об открытии и ведении бизнеса, налогах и мерах поддержки, узнавать об услугах центра и "
    "говорить с оператором. Если передумаете — просто начните снова."
)
PD_REASK = "Ответьте, пожалуйста, кнопкой: согласны ли вы на обработку персональных данных?"

# Notifications
BASIS_CONSENT = "Вы получили это сообщение, потому что {date} дали согласие: {title}."
BASIS_TRANSACTIONAL = "Это служебное уведомление: {basis}."
UNSUBSCRIBE_HINT = "Отписаться можно одной кнопкой ниже."
DIGEST_HEAD = {Frequency.daily: "Подборка за день:", Frequency.weekly: "Подборка за неделю:"}


def date(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y")


def topic_title(situation: str) -> str:
    return ALL_TOPICS if situation == ALL else LIFE_SITUATIONS.get(situation, situation)


def topic_phrase(situation: str) -> str:
    """How a life situation reads inside a consent text: «по теме «налоги»» / «по всем темам»."""
    return "по всем темам" if situation == ALL else f"по теме «{topic_title(situation)}»"


def short_title(kind: Kind, scope: str) -> str:
    """A consent as a button title."""
    if kind is Kind.situation:
        return "Все темы" if scope == ALL else f"Тема «{topic_title(scope)}»"
    if kind is Kind.service:
        return f"Услуга «{scope}»"
    if kind is Kind.personal_data:
        return f"Персональные данные: {PURPOSE_TITLES.get(scope, scope)}"
    return scope


def quiet_title(quiet: str | None) -> str:
    return NO_QUIET if not quiet or quiet == "off" else quiet.replace("-", "–")


def grant_line(grant: Grant, tz: tzinfo) -> str:
    via = CHANNEL_TITLES.get(grant.channel, grant.channel)
    title = grant.title or short_title(grant.kind, grant.scope)
    return f"• с {date(grant.granted_at, tz)} — {title} ({via}, версия текста {grant.version or '—'})"


def render_status(state: ConsentState, tz: tzinfo, default_quiet: str) -> str:
    lines = []
    grants = [g for g in state.active() if g.kind is not Kind.notify]
    if grants:
        lines += [STATUS_HEAD, *(grant_line(g, tz) for g in grants)]
    withdrawn = [(k, ts) for k, ts in state.withdrawn.items() if k not in state.grants]
    if withdrawn:
        lines.append(STATUS_WITHDRAWN)
        for key, ts in sorted(withdrawn, key=lambda kv: kv[1]):
            kind, _, scope = key.partition(":")
            lines.append(f"• {short_title(Kind(kind), scope)} — отозвано {date(ts, tz)}")
    if not lines:
        return STATUS_EMPTY
    lines.append(STATUS_NOTIFY.format(items=notify_items(state, "; "), quiet=quiet_title(state.quiet or default_quiet)))
    return "\n".join(lines)


def notify_items(state: ConsentState, sep: str) -> str:
    return sep.join(
        f"{CATEGORY_TITLES[c].lower() if sep == '; ' else CATEGORY_TITLES[c]} — "
        f"{FREQUENCY_TITLES[state.frequency_of(c)]}"
        for c in Category
    )


def purged(deleted: Sequence[str], kept: Sequence[str]) -> str:
    lines = [PURGED_HEAD.format(items="; ".join(deleted)) if deleted else PURGED_NOTHING]
    if kept:
        lines.append(PURGED_KEPT.format(items="; ".join(kept)))
    lines.append(PURGED_HISTORY)
    return " ".join(lines)
