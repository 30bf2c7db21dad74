"""Reading pictures: which files are photos, decoding them upright and bounded, the photo inside its framing, its orientation signature, the model's vectors, content hashes and metadata."""
