"""Voice channel (issue 7)."""
