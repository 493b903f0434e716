"""Chat front ends (Slack) that call the same assistant as the HTTP API."""
