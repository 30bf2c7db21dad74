"""simgui: find duplicate and similar photos, offline."""
__version__ = "0.1.0"
