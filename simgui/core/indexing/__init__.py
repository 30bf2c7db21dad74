"""Keeping the library up to date with the disk: the indexing pipeline, its time-limited workers, the folder watcher."""
