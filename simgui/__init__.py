"""simgui: find duplicate and similar photos, offline."""
import os

# Before numpy loads OpenBLAS: our products are many small ones (a pair's 256x256 token similarities, a
# sketch's fits), and OpenBLAS's extra threads spin between them. Indexing 300 camera JPEGs burnt 26.7
# CPU-seconds with them and 19.3 without, and took 0.9 s longer, the spinning taking the decoders' core.
# A user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
