"""Contract tests: answers shaped exactly like the live Graph API's, replayed through
requests-mock against the real Graph client and the real tap (shared/graph-api.md)."""
