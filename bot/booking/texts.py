"""Everything the appointments and history features say (Russian, polite «вы»)."""

from __future__ import annotations

from datetime import datetime, tzinfo

WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
WEEKDAYS_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря")


def when(epoch: int, tz: tzinfo) -> str:
    """«вторник, 17 марта, 10:00» in the centre's local time."""
    t = datetime.fromtimestamp(epoch, tz)
    return f"{WEEKDAYS[t.weekday()]}, {t.day} {MONTHS[t.month - 1]}, {t.hour}:{t.minute:02d}"


def when_short(epoch: int, tz: tzinfo) -> str:
    """«вт 17 марта, 10:00» for buttons."""
    t = datetime.fromtimestamp(epoch, tz)
    return f"{WEEKDAYS_SHORT[t.weekday()]} {t.day} {MONTHS[t.month - 1]}, {t.hour}:{t.minute:02d}"


def date(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y")


def place(online: bool, location: str) -> str:
    return f"Формат: онлайн — {location}" if online else f"Где: {location}"


# ------------------------------------------------------------------ booking
ASK_TOPIC = "С удовольствием запишу вас на консультацию. Выберите, пожалуйста, тему:"
TOPIC_BY_BUTTONS = "Выберите, пожалуйста, тему консультации кнопкой ниже или напишите «отмена»."
PICK_SLOT = ("Консультация «{topic}» длится {minutes} мин. Ближайшее свободное время "
             "({zone}) — выберите удобное:")
PICK_SLOT_LATER = "Вот свободное время на следующие дни ({zone}):"
SLOT_BY_BUTTONS = ("Выберите, пожалуйста, время кнопкой ниже. Если ни одно не подходит, "
                   "нажмите «Другие даты» или напишите «отмена».")
NO_SLOTS = ("К сожалению, на ближайшие {days} дн. по теме «{topic}» свободного времени нет. "
            "Можно выбрать другую тему или написать «оператор» — сотрудник подберёт время вместе с вами.")
NO_MORE_SLOTS = ("Дальше свободного времени по теме «{topic}» пока нет. Выберите, пожалуйста, "
                 "из предложенного раньше или напишите «оператор».")
CONFIRM = ("Проверьте, пожалуйста, запись:\n"
           "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\nЗаписать вас?")
CONFIRM_MOVE = ("Перенести вашу консультацию «{topic}» на {when} ({zone})?")
CONFIRM_BY_BUTTONS = "Подтвердите, пожалуйста, запись кнопкой «Записаться» — или выберите другое время."
BOOKED = ("Готово, вы записаны! ✅\n"
          "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\n"
          "{reminder}Если планы изменятся, запись можно перенести или отменить кнопками ниже "
          "или написав «отменить запись».")
REMINDER_PROMISE = "Накануне я пришлю напоминание. "
MOVED = ("Готово, запись перенесена. ✅\n"
         "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\n"
         "{reminder}Прежнее время освобождено.")
SLOT_TAKEN = "Извините, это время только что заняли. Выберите, пожалуйста, другое:"
SLOT_GONE = "Это время уже недоступно — оно прошло или вне часов работы. Выберите, пожалуйста, другое:"
SAME_SLOT = "Вы уже записаны на это время. Выберите, пожалуйста, другое время или напишите «отмена»."
CANCELLED_FLOW = "Хорошо, запись не оформляем. Если захотите записаться позже — напишите «записаться на консультацию»."
KEEP = "Хорошо, оставляю запись как есть."

TOPIC_BUTTON_MORE = "Другие даты"
OTHER_TOPIC = "Другая тема"
CANCEL_BUTTON = "Отмена"
BOOK_BUTTON = "✅ Записаться"
MOVE_CONFIRM_BUTTON = "✅ Перенести"
OTHER_TIME = "Другое время"
MOVE_BUTTON = "Перенести"
CANCEL_APPT_BUTTON = "Отменить запись"
KEEP_BUTTON = "Оставить как есть"
BOOK_AGAIN = "Записаться снова"
BOOK_START = "Записаться на консультацию"

# ----------------------------------------------------------------- managing
NO_APPOINTMENTS = ("У вас нет предстоящих записей на консультацию. Хотите записаться? "
                   "Нажмите кнопку ниже или напишите «записаться на консультацию».")
ONE_APPOINTMENT = "Ваша запись:\n• {topic} — {when} ({zone})\n{place}\n\nЧто с ней сделать?"
MANY_APPOINTMENTS = "Ваши предстоящие записи ({zone}):\n{items}\n\nКакую из них перенести или отменить?"
APPOINTMENT_LINE = "• {topic} — {when}"
ASK_CANCEL = "Отменить запись «{topic}» на {when} ({zone})?"
CANCELLED_APPT = ("Запись «{topic}» на {when} отменена, напоминания не будет. "
                  "Если понадобится консультация — запишитесь снова в любое время.")
NOT_BOOKED = "Эта запись уже отменена или перенесена. Напишите «мои записи», чтобы увидеть актуальные."
YES_CANCEL = "Да, отменить"

# ---------------------------------------------------------------- reminders
REMINDER = ("Напоминаем: {when} ({zone}) у вас консультация «{topic}», {minutes} мин.\n{place}\n"
            "Если планы изменились, напишите «перенести запись» или «отменить запись».")
REMINDER_BASIS = "вы записались на консультацию {date}"

# ------------------------------------------------------------------ history
HISTORY_EMPTY = ("Пока в истории ничего нет: вы ещё не задавали мне вопросов, не оплачивали пошлины, "
                 "не давали согласий и не записывались на консультации. Спросите о своём деле — я помогу.")
HISTORY_HEAD = "История ваших обращений (сначала новые, {zone}):"
HISTORY_TOTALS = "Всего: {parts}."
HISTORY_MORE = "Показаны последние {shown} записей из {total}. Полную выгрузку подготовит оператор — напишите «оператор»."
HISTORY_QUESTION = "{date} — вопрос: «{text}»"
HISTORY_ANSWERED = "{date} — ответ по теме «{title}»"
HISTORY_QUESTION_ANSWERED = "{date} — вопрос: «{text}» → ответ по теме «{title}»"
HISTORY_HANDOFF = "{date} — разговор с оператором"
HISTORY_PAYMENT = "{date} — платёж «{fee}», {amount} ₽: {status}"
HISTORY_CONSENT = "{date} — {action}: {what}"
HISTORY_BOOKING = "{date} — запись на консультацию «{topic}» на {when}: {status}"
PAYMENT_STATUS = {"created": "счёт выставлен", "pending": "ожидает оплаты", "paid": "оплачен",
                  "failed": "не прошёл", "expired": "срок оплаты истёк", "refunded": "возвращён"}
BOOKING_STATUS = {"booked": "действует", "cancelled": "отменена", "past": "состоялась"}
TOTAL_WORDS = {"questions": ("вопрос", "вопроса", "вопросов"), "handoffs": ("разговор с оператором",
               "разговора с оператором", "разговоров с оператором"), "payments": ("платёж", "платежа", "платежей"),
               "consents": ("действие с согласиями", "действия с согласиями", "действий с согласиями"),
               "bookings": ("запись", "записи", "записей")}


def plural(n: int, forms: tuple[str, str, str]) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]
