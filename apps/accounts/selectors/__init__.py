"""Reads about accounts, always scoped to who is asking; one module per area."""
