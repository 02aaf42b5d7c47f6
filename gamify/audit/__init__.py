"""The audit bundle: writing, reading and verifying it (CONTRACT §5)."""
