"""Alembic migrations of gamify's tables; shipped in the wheel and run by ``gamify db upgrade``."""
