"""Search over the centre's services and support measures (R-6)."""
