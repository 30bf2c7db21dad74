"""Telling copies from look-alikes: the patch check, turned copies, the grouping rule, clusters, what the user taught, the map."""
