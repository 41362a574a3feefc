"""Applications / forms (R-9) and status tracking (R-10).

forms.yaml / forms.py   the forms as data, checked at load
validators.py           pure checks of ИНН, ОГРН/ОГРНИП, phone, e-mail, dates, amounts
flow.py                 the form conversation (pure steps, flow `app`)
state.py                its typed state, the draft, its effects and their outcomes
reading.py              how an answer typed or pressed is read (back, skip, help, a question)
known.py                values taken from the profile (pre-fill) and kept there after submission
effects.py              the I/O behind the effects: save a draft, submit (→ the number)
status.py               statuses and allowed changes (one place)
store.py                applications and drafts in Redis
service.py              status in plain words; `change_status` for staff (notifies the client)
admin.py                staff CLI: python -m bot.applications.admin set-status …
module.py               plug-in point (bot/modules.py)
"""
