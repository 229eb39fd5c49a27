"""SQLite persistence: one writer task, many readers, numbered schema files."""
