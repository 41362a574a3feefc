"""Human operator handoff (issue 4)."""
