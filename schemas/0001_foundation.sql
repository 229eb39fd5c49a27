-- 0001 foundation: system status (kill switch), system events, settings snapshots, books.
-- Timestamps are ISO-8601 UTC text with microseconds ('2025-10-28T06:51:03.000000Z'), which
-- sort correctly as text and are readable in the sqlite3 shell.

-- Singleton (id = 1): the kill switch and health flags (seed 004 SystemStatus).
CREATE TABLE system_status (
    id                          INTEGER PRIMARY KEY CHECK (id = 1),
    kill_switch                 INTEGER NOT NULL DEFAULT 0 CHECK (kill_switch IN (0, 1)),
    kill_switch_by              TEXT,     -- operator | daily_loss_limit | crash_loop | ingest_gap | ...
    kill_switch_reason          TEXT,
    kill_switch_activated_at    TEXT,
    kill_switch_deactivated_at  TEXT,
    trading_state               TEXT NOT NULL DEFAULT 'ACTIVE'
                                CHECK (trading_state IN ('ACTIVE', 'REDUCING', 'HALTED')),
    hyperliquid_connected       INTEGER NOT NULL DEFAULT 0,
    last_hyperliquid_check      TEXT,
    alpaca_connected            INTEGER NOT NULL DEFAULT 0,
    last_alpaca_check           TEXT,
    nof1_connected              INTEGER NOT NULL DEFAULT 0,
    last_nof1_check             TEXT,
    connections                 TEXT NOT NULL DEFAULT '{}',  -- JSON: per-feed detail (polling fallback, ...)
    last_event_time             TEXT,     -- newest ingested bot/market event
    last_order_time             TEXT,     -- newest order we sent
    started_at                  TEXT,
    updated_at                  TEXT
);
INSERT INTO system_status (id) VALUES (1);

-- Audit log of everything notable (seed 004 SystemEvent).
CREATE TABLE system_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    category    TEXT NOT NULL,           -- api | trading | system | config | ingest | arena | tracker | ...
    message     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'  -- JSON
);
CREATE INDEX ix_system_events_ts ON system_events (ts);
CREATE INDEX ix_system_events_level_ts ON system_events (level, ts);
CREATE INDEX ix_system_events_category_ts ON system_events (category, ts);

-- Every set of settings put in force (start-up and each accepted reload), with the diff
-- against the previous one (seed 004 Settings: the settings in force are the newest row).
CREATE TABLE settings_snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          TEXT NOT NULL,
    source      TEXT NOT NULL,           -- startup | reload | sighup | control
    config_path TEXT,
    settings    TEXT NOT NULL,           -- JSON of the settings in force
    diff        TEXT NOT NULL DEFAULT '{}'  -- JSON: {key: {old, new}}
);
CREATE INDEX ix_settings_snapshots_ts ON settings_snapshots (ts);

-- Every competitor that holds positions and has an equity curve (DESIGN.md "Books").
CREATE TABLE books (
    book_id         TEXT PRIMARY KEY,    -- bot:<id> | fade:<bot id> | arena:<model id> | strategy:<id> | benchmark:<sym>
    kind            TEXT NOT NULL CHECK (kind IN ('bot', 'fade', 'arena_model', 'strategy', 'benchmark')),
    name            TEXT NOT NULL,
    provider        TEXT,                -- LLM provider, strategy family, ...
    venue           TEXT,                -- hyperliquid | alpaca | nof1 | backtest
    initial_capital REAL,
    season          TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    details         TEXT NOT NULL DEFAULT '{}',  -- JSON: wallet, model id, parameters, ...
    created_at      TEXT NOT NULL
);
CREATE INDEX ix_books_kind ON books (kind);
