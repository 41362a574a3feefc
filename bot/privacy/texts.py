"""What the assistant says about deleting personal data (Russian, «вы»), and
pure renderers of what was deleted and what is kept.

Every sentence here must stay true of bot/privacy/erasure.py: when the
eraser changes, change the words (docs/SECURITY-erasure.md says the same)."""

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
KEPT_APPLICATIONS = ("поданные заявки{numbers} — центр обязан хранить документы по обращениям за "
                     "поддержкой; телефон и e-mail из них я удалю, и заявки больше не будут связаны с вашим "
                     "аккаунтом (узнать статус можно в центре по номеру заявки)")
KEPT_PAYMENTS = ("записи о платежах{count} — их требует хранить закон о бухгалтерском учёте (402-ФЗ); "
                 "они тоже будут отвязаны от вашего аккаунта")
KEPT_LEDGER = ("журнал ваших согласий — под обезличенным номером, без имени и контактов: он подтверждает, "
               "на каком основании мы обрабатывали данные (152-ФЗ)")
CONFIRM_TAIL = "Удаление нельзя отменить. Удалить данные?"
WITH_OPERATOR_NOTE = "Сейчас вас ждёт или ведёт оператор — этот разговор будет завершён."

ERASED_HEAD = "Готово: ваши персональные данные удалены."
ERASED_DELETED = "Удалено: {items}."
ERASED_KEPT = "Сохранено: {items}."
ERASED_TAIL = ("Если захотите снова обратиться, просто напишите — я начну заново, как с новым клиентом, "
               "и ничего из прежнего не вспомню.")
ERASED_BY_STAFF = ("По вашему запросу сотрудник центра удалил ваши персональные данные. {rest}")

KEPT = "Хорошо, ничего не удаляю: все ваши данные остаются как были. Чем ещё могу помочь?"
EXPIRED = ("Подтверждение устарело, поэтому я ничего не удалил. Если хотите удалить данные, напишите "
           "«удалите мои данные» ещё раз.")
NOT_CONFIRMED = "Я ничего не удалил: для удаления нужно явное подтверждение."

# ---------------------------------------------------- withdrawal of a consent
PURGED_HEAD = "Удалил данные, которые вы сообщали для этой цели: {items}."
PURGED_NOTHING = "Персональных данных для этой цели у меня не сохранено — удалять нечего."
PURGED_KEPT = "Сохраняются: {items}."
PURGED_HISTORY = ("Переписка в чате остаётся, чтобы вы и операторы видели прежние вопросы; чтобы удалить "
                  "и её, и всё остальное, напишите «удалите мои данные».")

FIELD_TITLES = {"full_name": "ФИО", "birth_date": "дата рождения", "inn": "ИНН", "ogrn": "ОГРН/ОГРНИП",
                "phone": "телефон", "email": "e-mail"}
KEPT_APPLICATIONS_SHORT = ("поданные заявки {numbers} — их рассматривают специалисты, и центр обязан хранить "
                           "документы по обращениям за поддержкой")
KEPT_PAYMENTS_SHORT = "записи о платежах — их требует хранить закон о бухгалтерском учёте (402-ФЗ)"
KEPT_LEDGER_SHORT = "запись о согласии и его отзыве — она подтверждает, на каком основании мы обрабатывали данные"


def plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def bullets(items: list[str]) -> str:
    return "\n".join(f"• {item};" for item in items[:-1]) + (f"\n• {items[-1]}." if items else "")


@dataclass
class Inventory:
    """What a client has, for the confirmation (read before anything is deleted)."""

    applications: list[str] = field(default_factory=list)  # numbers of submitted applications
    payments: int = 0
    with_operator: bool = False


def confirmation(inv: Inventory) -> str:
    kept = []
    if inv.applications:
        kept.append(KEPT_APPLICATIONS.format(numbers=" (" + ", ".join(inv.applications[:5]) + ")"))
    if inv.payments:
        kept.append(KEPT_PAYMENTS.format(count=f" ({inv.payments})"))
    kept.append(KEPT_LEDGER)
    parts = [CONFIRM_HEAD, bullets(CONFIRM_ALWAYS), "", CONFIRM_KEPT_HEAD, bullets(kept), ""]
    if inv.with_operator:
        parts.append(WITH_OPERATOR_NOTE)
    parts.append(CONFIRM_TAIL)
    return "\n".join(parts)


def erased(deleted: list[str], kept: list[str]) -> str:
    lines = [ERASED_HEAD]
    if deleted:
        lines.append(ERASED_DELETED.format(items="; ".join(deleted)))
    lines.append(ERASED_KEPT.format(items="; ".join(kept)))
    lines.append(ERASED_TAIL)
    return "\n".join(lines)


def purged(deleted: list[str], kept: list[str], history: bool = True) -> str:
    lines = [PURGED_HEAD.format(items="; ".join(deleted)) if deleted else PURGED_NOTHING]
    if kept:
        lines.append(PURGED_KEPT.format(items="; ".join(kept)))
    if history:
        lines.append(PURGED_HISTORY)
    return " ".join(lines)
