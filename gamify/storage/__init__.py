"""Storage adapter: SQLModel tables, engines and migrations around the pure domain."""
