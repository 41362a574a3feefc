"""What the assistant says about deleting personal data (Russian, «вы»), and
pure renderers of what was deleted and what is kept.

Every sentence here must stay true of bot/privacy/erasure.py: when the
eraser changes, change the words (docs/SECURITY.md says the same)."""

from __future__ import annotations

from dataclasses import dataclass, field

YES_BUTTON = "Да, удалить"
NO_BUTTON = "Нет, оставить"

# ---------------------------------------------------------- erasure on request
CONFIRM_HEAD = "Вы просите удалить ваши персональные данные. Вот что я удалю:"
CONFIRM_ALWAYS = [
    "профиль: ФИО, ИНН, ОГРН, телефон, e-mail и другие сведения, которые вы мне сообщали",
    "переписку со мной и с операторами во всех каналах (Telegram, приложение, телефон)",
    "черновики заявок",
    "записи на консультацию и заказанные обратные звонки — предстоящие будут отменены",
    "настройки уведомлений и ваши адреса в каналах связи — сам я больше не буду вам писать",
]
CONFIRM_KEPT_HEAD = "Что сохранится и почему:"
KEPT_APPLICATIONS = (
    "поданные заявки{numbers} — центр обязан хранить документы по обращениям за "
    "поддержкой; в них не остаётся ваших телефона и e-mail, и они не связаны с вашим аккаунтом "
    "(статус можно узнать в центре по номеру заявки)"
)
KEPT_PAYMENTS = (
    "записи о платежах{count} — их требует хранить закон о бухгалтерском учёте (402-ФЗ); "
    "они тоже не связаны с вашим аккаунтом"
)
KEPT_LEDGER = (
    "журнал ваших согласий — под обезличенным номером, без имени и контактов: он подтверждает, "
    "на каком основании мы обрабатывали данные (152-ФЗ)"
)
CONFIRM_TAIL = "Удаление нельзя отменить. Удалить данные?"
WITH_OPERATOR_NOTE = "Сейчас вас ждёт или ведёт оператор — этот разговор будет завершён."

ERASED_HEAD = "Готово: ваши персональные данные удалены."
ERASED_DELETED = "Удалено: {items}."
ERASED_KEPT = "Сохранено: {items}."
ERASED_TAIL = (
    "Если захотите снова обратиться, просто напишите — я начну заново, как с новым клиентом, "
    "и ничего из прежнего не вспомню."
)
ERASED_BY_STAFF = "По вашему запросу сотрудник центра удалил ваши персональные данные. {rest}"
STAFF_DONE = "Данные клиента удалены во всех каналах: {deleted}. В журнале согласий записано, что удаление сделали вы."
STAFF_TOLD = "Клиенту отправлено сообщение об удалении."
STAFF_NOT_TOLD = (
    "Написать клиенту об удалении было некуда (нет чата в Telegram или звонка) — сообщите ему "
    "тем способом, которым пришла просьба."
)
STAFF_TELL_YOURSELF = "Команда не пишет клиенту — сообщите ему об удалении тем способом, которым пришла просьба."

KEPT = "Хорошо, ничего не удаляю: все ваши данные остаются как были. Чем ещё могу помочь?"
EXPIRED = (
    "Подтверждение устарело, поэтому я ничего не удалил. Если хотите удалить данные, напишите "
    "«удалите мои данные» ещё раз."
)
NOT_CONFIRMED = "Я ничего не удалил: для удаления нужно явное подтверждение."

# ---------------------------------------------------- withdrawal of a consent
# (the sentences around these items are the consent flow's: bot/consent/texts.py, `purged`)
FIELD_TITLES = {
    "full_name": "ФИО",
    "birth_date": "дата рождения",
    "inn": "ИНН",
    "ogrn": "ОГРН/ОГРНИП",
    "phone": "телефон",
    "email": "e-mail",
}
KEPT_APPLICATIONS_SHORT = "поданные заявки {numbers} — центр обязан хранить документы по обращениям за поддержкой"
KEPT_PAYMENTS_SHORT = "записи о платежах — их требует хранить закон о бухгалтерском учёте (402-ФЗ)"
KEPT_LEDGER_SHORT = "запись о согласии и его отзыве — она подтверждает, на каком основании мы обрабатывали данные"


def fields_phrase(names) -> str:
    """Profile fields in the client's words, in the order a form asks them."""
    order = list(FIELD_TITLES)
    known = sorted((n for n in names if n in FIELD_TITLES), key=order.index)
    return ", ".join([FIELD_TITLES[n] for n in known] + sorted(n for n in names if n not in FIELD_TITLES))


def bullets(items: list[str]) -> str:
    """«• a;\n• b.» — a list in one sentence, however long."""
    return "\n".join(f"• {item}{'.' if i == len(items) - 1 else ';'}" for i, item in enumerate(items))


@dataclass
class Inventory:
    """What a client has, for the confirmation (read before anything is deleted)."""

    applications: list[str] = field(default_factory=list)  # numbers of submitted applications
    payments: int = 0
    with_operator: bool = False


def kept_lines(inv: Inventory) -> list[str]:
    """What an erasure keeps, and why (the same before and after it)."""
    kept = []
    if inv.applications:
        kept.append(KEPT_APPLICATIONS.format(numbers=" (" + ", ".join(inv.applications[:5]) + ")"))
    if inv.payments:
        kept.append(KEPT_PAYMENTS.format(count=f" ({inv.payments})"))
    kept.append(KEPT_LEDGER)
    return kept


def confirmation(inv: Inventory) -> str:
    parts = [CONFIRM_HEAD, bullets(CONFIRM_ALWAYS), "", CONFIRM_KEPT_HEAD, bullets(kept_lines(inv)), ""]
    if inv.with_operator:
        parts.append(WITH_OPERATOR_NOTE)
    parts.append(CONFIRM_TAIL)
    return "\n".join(parts)


def staff_summary(deleted: list[str], kept: list[str], told: bool | None) -> str:
    """The console's (and, with `told` None, the command's) note after staff erased a client."""
    kept = [item.split(" — ")[0].replace("ваших ", "") for item in kept]  # what, without the reasons
    return " ".join(
        [
            STAFF_DONE.format(deleted="; ".join(deleted) or "сохранённых данных не было"),
            ERASED_KEPT.format(items="; ".join(kept)),
            STAFF_TELL_YOURSELF if told is None else STAFF_TOLD if told else STAFF_NOT_TOLD,
        ]
    )


def erased(deleted: list[str], kept: list[str]) -> str:
    lines = [ERASED_HEAD]
    if deleted:
        lines.append(ERASED_DELETED.format(items="; ".join(deleted)))
    lines.append(ERASED_KEPT.format(items="; ".join(kept)))
    lines.append(ERASED_TAIL)
    return "\n".join(lines)
