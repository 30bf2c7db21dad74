"""Icons and styles of the app, shipped as the package data simgui.resources (pyproject.toml maps this folder)."""
