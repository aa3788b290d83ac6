"""Database schema, engines and migrations shared by every SQL store."""
