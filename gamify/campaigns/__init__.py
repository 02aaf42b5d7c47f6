"""Marketer YAML to domain objects: loading, checking, the JSON Schema, odds, rehearsals."""
