"""Flows: small deterministic state machines with pure steps.

A flow is `step(state, event, ctx) -> Step(state', replies, effects)`: no I/O
inside. The engine loads the state from Redis, applies the step, performs the
effects (store, send, schedule) and saves. See `base.py`.
"""
