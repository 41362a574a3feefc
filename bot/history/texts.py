"""Everything the interaction history says (Russian, polite «вы»)."""

from __future__ import annotations

HISTORY_EMPTY = (
    "Пока в истории ничего нет: вы ещё не задавали мне вопросов, не подавали заявок, не заказывали "
    "звонков, не оплачивали пошлины, не давали согласий и не записывались на консультации. "
    "Спросите о своём деле — я помогу."
)
HISTORY_HEAD = "История ваших обращений (сначала новые, {zone}):"
HISTORY_TOTALS = "Всего: {parts}."
HISTORY_MORE = (
    "Показаны последние {shown} записей из {total}. Полную выгрузку подготовит оператор — напишите «оператор»."
)
HISTORY_QUESTION = "{date} — вопрос: «{text}»"
HISTORY_QUESTION_ANSWERED = "{date} — вопрос: «{text}» → ответ по теме «{title}»"
HISTORY_HANDOFF = "{date} — разговор с оператором"
HISTORY_PAYMENT = "{date} — платёж «{fee}», {amount} ₽: {status}"
HISTORY_CONSENT = "{date} — {action}: {what}"
HISTORY_APPLICATION = "{date} — заявка № {number} «{title}»: {status}"
HISTORY_CALLBACK = "{date} — обратный звонок на {when}: {status}"
HISTORY_BOOKING = "{date} — запись на консультацию «{topic}» на {when}: {status}"
PAYMENT_STATUS = {
    "created": "счёт выставлен",
    "pending": "ожидает оплаты",
    "paid": "оплачен",
    "failed": "не прошёл",
    "expired": "срок оплаты истёк",
    "refunded": "возвращён",
}
APPLICATION_STATUS = {
    "submitted": "подана",
    "in_review": "на рассмотрении",
    "need_info": "нужны уточнения",
    "approved": "одобрена",
    "rejected": "отклонена",
}
CALLBACK_STATUS = {"booked": "запланирован", "done": "состоялся", "cancelled": "отменён"}
BOOKING_STATUS = {
    "booked": "действует",
    "cancelled": "отменена",
    "past": "состоялась",
    "attended": "состоялась",
    "no_show": "вы не пришли",
}
TOTAL_WORDS = {
    "questions": ("вопрос", "вопроса", "вопросов"),
    "handoffs": ("разговор с оператором", "разговора с оператором", "разговоров с оператором"),
    "applications": ("заявка", "заявки", "заявок"),
    "callbacks": ("обратный звонок", "обратных звонка", "обратных звонков"),
    "payments": ("платёж", "платежа", "платежей"),
    "consents": ("действие с согласиями", "действия с согласиями", "действий с согласиями"),
    "bookings": ("запись", "записи", "записей"),
}
