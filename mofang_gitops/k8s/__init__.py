"""The cluster adapter: the only importer of ``kubernetes``; HTTP statuses become our errors."""
