"""Shared foundations: settings, plain data types and errors used by every stage."""
