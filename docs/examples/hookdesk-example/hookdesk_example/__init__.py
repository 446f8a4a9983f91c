"""Example plugin (placeholder until written)."""
