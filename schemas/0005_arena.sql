-- 0005 arena: runs, LLM call logs, decisions with their rail verdicts, order intents, virtual
-- ledgers and positions of each arena model, and round trips (seed 000; seed 003's
-- api_usage_logs as the LLM call log). Books are `arena:<model id>` rows of `books`.
-- Prices and quantities are exact decimals as TEXT; P&L summaries are REAL.

-- One row per run (seed 000 arena_runs). A slot runs at most once: slot_key is UNIQUE and the
-- row is inserted before anything else happens, so a restart finds the slot taken.
CREATE TABLE arena_runs (
    run_id           TEXT PRIMARY KEY,          -- r-20250310-1945 (scheduled) / r-...-m (manual)
    slot_key         TEXT NOT NULL UNIQUE,      -- daily:2025-03-10T19:45Z | manual:... | cron:...
    trigger          TEXT NOT NULL CHECK (trigger IN ('schedule', 'missed', 'operator')),
    scheduled_for    TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    completed_at     TEXT,
    status           TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
    models_executed  TEXT NOT NULL DEFAULT '[]',  -- JSON array of model ids
    decisions        INTEGER NOT NULL DEFAULT 0,
    trades_generated INTEGER NOT NULL DEFAULT 0,  -- orders sent to the venue
    errors           TEXT NOT NULL DEFAULT '[]',  -- JSON [{model_id, symbol?, error}]
    total_pnl        REAL,                        -- sum over models of equity change since their previous run
    top_performer    TEXT,                        -- model id with the largest such change
    details          TEXT NOT NULL DEFAULT '{}'   -- JSON: per-model equity, P&L, timings
);
CREATE INDEX ix_arena_runs_started ON arena_runs (started_at DESC);

-- Every HTTP attempt to an LLM provider (seed 003 api_usage_logs: endpoint, method,
-- status_code, duration_ms, created_at; plus the prompt, raw answer, tokens and cost).
CREATE TABLE llm_calls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at     TEXT NOT NULL,
    run_id         TEXT REFERENCES arena_runs (run_id),
    book_id        TEXT NOT NULL,
    model_id       TEXT NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    symbol         TEXT,
    attempt        INTEGER NOT NULL DEFAULT 1,
    endpoint       TEXT NOT NULL,
    method         TEXT NOT NULL DEFAULT 'POST',
    status_code    INTEGER,                     -- NULL: no HTTP answer (timeout, connection)
    outcome        TEXT NOT NULL CHECK (outcome IN ('ok', 'retry', 'fail')),
    duration_ms    REAL NOT NULL,
    system_prompt  TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    response       TEXT,                        -- raw body, cut at arena.stored_response_bytes
    response_bytes INTEGER NOT NULL DEFAULT 0,
    content        TEXT,                        -- the model's text, when the call succeeded
    finish_reason  TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    cost_usd       REAL,
    error          TEXT
);
CREATE INDEX ix_llm_calls_created ON llm_calls (created_at DESC);
CREATE INDEX ix_llm_calls_model ON llm_calls (model_id, created_at);
CREATE INDEX ix_llm_calls_run ON llm_calls (run_id);

-- Every decision of every model for every symbol of a run, valid or not (seed 000
-- arena_trades' decision part). Invalid answers: valid = 0, action HOLD, error and raw text.
CREATE TABLE arena_decisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ts              TEXT NOT NULL,
    run_id          TEXT NOT NULL REFERENCES arena_runs (run_id),
    slot_key        TEXT NOT NULL,
    book_id         TEXT NOT NULL,
    model_id        TEXT NOT NULL,
    model_name      TEXT NOT NULL,
    provider        TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('BUY', 'SELL', 'HOLD')),
    quantity        TEXT,
    entry_price     TEXT,
    stop_loss       TEXT,
    take_profit     TEXT,
    confidence      REAL CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    timeframe       TEXT,
    reasoning       TEXT NOT NULL DEFAULT '{}', -- JSON {bullish, bearish, technical, fundamental, summary}
    current_price   TEXT,                       -- last price when decided
    valid           INTEGER NOT NULL CHECK (valid IN (0, 1)),
    error           TEXT,                       -- why invalid, or why the rails blocked it
    raw             TEXT,                       -- the model's raw text when invalid
    llm_call_id     INTEGER REFERENCES llm_calls (id),
    rails_allowed   INTEGER CHECK (rails_allowed IS NULL OR rails_allowed IN (0, 1)),
    verdicts        TEXT NOT NULL DEFAULT '[]', -- JSON [{rail, allowed, reason}]
    client_order_id TEXT,
    order_status    TEXT,                       -- NULL: no order; intent|submitted|filled|rejected|...
    UNIQUE (slot_key, book_id, symbol)
);
CREATE INDEX ix_arena_decisions_book_ts ON arena_decisions (book_id, ts);
CREATE INDEX ix_arena_decisions_symbol_ts ON arena_decisions (symbol, ts);
CREATE INDEX ix_arena_decisions_run ON arena_decisions (run_id);

-- Each rail's verdict on each order a decision proposed (also in arena_decisions.verdicts).
CREATE TABLE arena_rail_verdicts (
    decision_id INTEGER NOT NULL REFERENCES arena_decisions (id),
    rail        TEXT NOT NULL,
    allowed     INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    reason      TEXT NOT NULL,
    PRIMARY KEY (decision_id, rail)
);
CREATE INDEX ix_arena_rail_verdicts_rail ON arena_rail_verdicts (rail, allowed);

-- Orders: the intent is committed before the order is sent (write-ahead); the venue's answer
-- and fills update the row. client_order_id derives from (slot, model, symbol[, exit reason]).
CREATE TABLE arena_orders (
    client_order_id  TEXT PRIMARY KEY,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    run_id           TEXT,
    decision_id      INTEGER REFERENCES arena_decisions (id),
    book_id          TEXT NOT NULL,
    model_id         TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty              TEXT NOT NULL,
    type             TEXT NOT NULL DEFAULT 'market',
    limit_price      TEXT,
    purpose          TEXT NOT NULL CHECK (purpose IN ('entry', 'exit')),
    exit_reason      TEXT,                       -- stop_loss|take_profit|time_limit|manual|signal
    stop_loss        TEXT,                       -- carried to the position its fills open
    take_profit      TEXT,
    timeframe        TEXT,
    -- intent (committed, not yet answered) | unknown (sent, answer lost: reconciled by client
    -- order id) | the venue's status (new, accepted, partially_filled, filled, canceled,
    -- expired, rejected, ...) | not_sent (never reached the venue) | duplicate
    status           TEXT NOT NULL DEFAULT 'intent',
    venue_order_id   TEXT,
    filled_qty       TEXT NOT NULL DEFAULT '0', -- booked on the ledger so far (cumulative)
    filled_avg_price TEXT,
    filled_at        TEXT,
    error            TEXT
);
CREATE INDEX ix_arena_orders_book ON arena_orders (book_id, created_at);
CREATE INDEX ix_arena_orders_status ON arena_orders (status);

-- Each arena model's virtual ledger (one row per book), kept current.
CREATE TABLE arena_ledgers (
    book_id          TEXT PRIMARY KEY,
    model_id         TEXT NOT NULL,
    initial_capital  TEXT NOT NULL,
    cash             TEXT NOT NULL,
    realized_pnl     TEXT NOT NULL DEFAULT '0',
    day              TEXT,                       -- New York trading day of day_start_equity
    day_start_equity TEXT,
    sat_out_day      TEXT,                       -- day the daily loss limit stopped it
    last_run_equity  REAL,                       -- equity at the end of its last run
    updated_at       TEXT NOT NULL
);

-- Open positions of each arena book (a closed position's row is deleted; its round trip is in
-- arena_trades).
CREATE TABLE arena_positions (
    book_id               TEXT NOT NULL,
    symbol                TEXT NOT NULL,
    qty                   TEXT NOT NULL,
    avg_price             TEXT NOT NULL,
    stop_loss             TEXT,
    take_profit           TEXT,
    timeframe             TEXT NOT NULL,
    opened_at             TEXT NOT NULL,
    entry_client_order_id TEXT,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (book_id, symbol)
);

-- Closed round trips of arena books (seed 000 arena_trades' execution and exit part).
CREATE TABLE arena_trades (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    book_id               TEXT NOT NULL,
    model_id              TEXT NOT NULL,
    symbol                TEXT NOT NULL,
    side                  TEXT NOT NULL CHECK (side IN ('long', 'short')),
    qty                   TEXT NOT NULL,
    entry_price           TEXT NOT NULL,
    exit_price            TEXT NOT NULL,
    opened_at             TEXT NOT NULL,
    closed_at             TEXT NOT NULL,
    exit_reason           TEXT NOT NULL,
    pnl                   TEXT NOT NULL,
    pnl_pct               REAL NOT NULL,
    entry_client_order_id TEXT,
    exit_client_order_id  TEXT,
    run_id                TEXT,
    UNIQUE (exit_client_order_id, entry_client_order_id)
);
CREATE INDEX ix_arena_trades_book ON arena_trades (book_id, closed_at);
CREATE INDEX ix_arena_trades_pnl ON arena_trades (CAST(pnl AS REAL) DESC);
