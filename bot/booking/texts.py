"""Everything the appointments feature says (Russian, polite «вы»)."""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime, tzinfo

from bot.core.texts import MONTHS

WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
WEEKDAYS_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


def when(epoch: int, tz: tzinfo) -> str:
    """«вторник, 17 марта, 10:00» in the centre's local time."""
    t = datetime.fromtimestamp(epoch, tz)
    return f"{WEEKDAYS[t.weekday()]}, {t.day} {MONTHS[t.month - 1]}, {t.hour}:{t.minute:02d}"


def when_short(epoch: int, tz: tzinfo) -> str:
    """«вт 17 марта, 10:00» for buttons."""
    t = datetime.fromtimestamp(epoch, tz)
    return f"{WEEKDAYS_SHORT[t.weekday()]} {t.day} {MONTHS[t.month - 1]}, {t.hour}:{t.minute:02d}"


def hm(epoch: int, tz: tzinfo) -> str:
    """«10:00» for a slot's button on its day's page."""
    t = datetime.fromtimestamp(epoch, tz)
    return f"{t.hour}:{t.minute:02d}"


def day(d: date_type) -> str:
    """«четверг, 21 марта»."""
    return f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]}"


def day_short(d: date_type) -> str:
    """«чт 21 марта» for a paging button."""
    return f"{WEEKDAYS_SHORT[d.weekday()]} {d.day} {MONTHS[d.month - 1]}"


def date(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y")


def place(online: bool, location: str) -> str:
    return f"Формат: онлайн — {location}" if online else f"Где: {location}"


# ------------------------------------------------------------------ booking
ASK_TOPIC = "С удовольствием запишу вас на консультацию. Выберите, пожалуйста, тему:"
TOPIC_AFTER_WISH = "С удовольствием запишу вас, подберу время {wish}. Выберите, пожалуйста, тему консультации:"
TOPIC_BY_BUTTONS = "Выберите, пожалуйста, тему консультации кнопкой ниже или напишите «отмена»."
PICK_SLOT = (
    "Консультация «{topic}» длится {minutes} мин. Свободное время на {day} ({zone}) — выберите удобное. "
    "Другие дни — кнопками со стрелками; можно и написать, когда вам удобно, например «в четверг после обеда»."
)
PICK_SLOT_LATER = "Свободное время на {day} ({zone}):"
PICK_SLOT_ASKED = "Свободное время {asked} — {day} ({zone}). Выберите удобное:"
PICK_SLOT_UNMATCHED = (
    "К сожалению, {asked} свободного времени нет. Ближайшее свободное — {day} ({zone}); "
    "другие дни — кнопками со стрелками:"
)
SLOT_BY_BUTTONS = (
    "Выберите, пожалуйста, время кнопкой ниже или напишите, когда вам удобно (например, «завтра утром»). "
    "Другие дни — кнопками со стрелками; прервать запись — «отмена»."
)
NO_SLOTS = (
    "К сожалению, на ближайшие {days} дн. по теме «{topic}» свободного времени нет. "
    "Можно выбрать другую тему или написать «оператор» — сотрудник подберёт время вместе с вами."
)
NO_MORE_SLOTS = (
    "Дальше свободного времени по теме «{topic}» пока нет. Выберите, пожалуйста, "
    "из предложенного раньше или напишите «оператор»."
)
CONFIRM = (
    "Проверьте, пожалуйста, запись:\n"
    "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\nЗаписать вас?"
)
CONFIRM_MOVE = "Перенести вашу консультацию «{topic}» на {when} ({zone})?"
CONFIRM_BY_BUTTONS = "Подтвердите, пожалуйста, запись кнопкой «Записаться» — или выберите другое время."
BOOKED = (
    "Готово, вы записаны! ✅\n"
    "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\n"
    "{reminder}Если планы изменятся, запись можно перенести или отменить кнопками ниже "
    "или написав «отменить запись»."
)
REMINDER_PROMISE = "Накануне вечером я пришлю напоминание. "
REMINDER_PROMISE_SOON = "За несколько часов до начала я пришлю напоминание. "
MOVED = (
    "Готово, запись перенесена. ✅\n"
    "• Тема: {topic}\n• Когда: {when} ({zone}), {minutes} мин\n• {place}\n\n"
    "{reminder}Прежнее время освобождено."
)
SLOT_TAKEN = "Извините, это время только что заняли. Выберите, пожалуйста, другое:"
SLOT_GONE = "Это время уже недоступно — оно прошло или вне часов работы. Выберите, пожалуйста, другое:"
SAME_SLOT = "Вы уже записаны на это время. Выберите, пожалуйста, другое время или напишите «отмена»."
CANCELLED_FLOW = "Хорошо, запись не оформляем. Если захотите записаться позже — напишите «записаться на консультацию»."
KEEP = "Хорошо, оставляю запись как есть."

TOPIC_BUTTON_MORE = "Другие даты"
PREV_DAY = "← {day}"
NEXT_DAY = "{day} →"
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
NO_APPOINTMENTS = (
    "У вас нет предстоящих записей на консультацию. Хотите записаться? "
    "Нажмите кнопку ниже или напишите «записаться на консультацию»."
)
ONE_APPOINTMENT = "Ваша запись:\n• {topic} — {when} ({zone})\n{place}\n\nЧто с ней сделать?"
MANY_APPOINTMENTS = "Ваши предстоящие записи ({zone}):\n{items}\n\nКакую из них перенести или отменить?"
APPOINTMENT_LINE = "• {topic} — {when}"
ASK_CANCEL = "Отменить запись «{topic}» на {when} ({zone})?"
CANCELLED_APPT = (
    "Запись «{topic}» на {when} отменена, напоминания не будет. "
    "Если понадобится консультация — запишитесь снова в любое время."
)
NOT_BOOKED = "Эта запись уже отменена или перенесена. Напишите «мои записи», чтобы увидеть актуальные."
YES_CANCEL = "Да, отменить"

# ---------------------------------------------------------------- reminders
REMINDER = (
    "Напоминаем: {when} ({zone}) у вас консультация «{topic}», {minutes} мин.\n{place}\n"
    "Если планы изменились, напишите «перенести запись» или «отменить запись»."
)
REMINDER_BASIS = "вы записались на консультацию {date}"

FLOW_WHAT = "запись"  # «Продолжим запись или …?», «Продолжить запись»
