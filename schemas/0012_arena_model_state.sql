-- Operator pause of an arena model (distinct from `enabled` in config): persisted, so a model
-- paused with `arena.pause` (the TUI's `p`) stays paused across a restart until resumed.
CREATE TABLE arena_model_state (
    model_id    TEXT PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    paused_by   TEXT,
    updated_at  TEXT NOT NULL
);
