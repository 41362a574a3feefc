"""Channel adapters: turn a channel's events into core messages and render the
core's replies in that medium. No decisions are taken here."""
