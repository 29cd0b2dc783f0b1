"""Load, clean, split, embed and store news articles; search them.

This package knows nothing of HTTP: `service` imports it, never the reverse.
"""
