"""Hookdesk's built-in plugins. Each is registered in ``pyproject.toml`` under the
entry-point group ``hookdesk.plugins``, exactly as a third party's would be."""
