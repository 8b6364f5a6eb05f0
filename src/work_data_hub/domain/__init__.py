"""Business domains: one folder per domain (schemas, pipeline steps).

``pipeline`` holds the machinery every domain shares: named steps that each
keep some rows and reject the rest with an error type, so a source row is
either loaded or logged exactly once, at the first step that rejects it.
"""
