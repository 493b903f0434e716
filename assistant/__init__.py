"""Answering: retrieval filtered by clearance, cited answers, and the HTTP API."""
