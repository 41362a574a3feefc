"""Appointments for consultations (R-11): topics as data, free slots from the
operators' schedule, atomic booking / moving / cancelling in Redis, reminders
the day before. Plugged in by `module.py`. (Voluntary feedback, R-14, is the
handoff module's rating flow.)"""
