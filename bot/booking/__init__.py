"""Appointments for consultations (R-11): topics as data, free slots from the
operators' schedule, atomic booking / moving / cancelling in Redis, reminders
the day before; plus `leave_feedback` (R-14). Plugged in by `module.py`."""
