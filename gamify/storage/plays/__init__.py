"""A play's transaction: one shared base, and an adapter per database."""
