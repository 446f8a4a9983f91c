"""Hookdesk kernel: tickets, pipelines, fields, people and hooks.

Plugin authors need only::

    from kernel import hookimpl
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("hookdesk")

__all__ = ["__version__", "hookimpl"]
