"""Fixtures come from the shipped pytest plugin ``kernel.testing`` (entry point
``pytest11``), the same ones third-party plugin authors use."""
