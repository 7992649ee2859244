"""Rendering helpers shared by the pages: the cached library, error display, the thumbnail grid
and ingest progress. Presentation only; every fact comes from search/, indexer/ or worker/."""
