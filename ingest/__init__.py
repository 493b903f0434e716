"""Ingestion: corpus files -> pages -> clean text -> chunks -> vectors -> Chroma + keyword index."""
