"""Keeping what was learnt: SQLite (the truth), the HNSW index (a cache of it), the stored form of patch tokens, locks, path text."""
