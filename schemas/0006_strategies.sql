-- 0006 strategies (seed 003): allocation strategies, backtest history, batch sweeps,
-- variable lists, strategies rebalanced on Alpaca and their orders.
--
-- Differences from the seed, on purpose:
-- * No `users` table and no `user_id` columns: arenad is single-operator (the operator is the
--   system user; access is the 0600 control socket), so every row belongs to the operator.
--   UNIQUE constraints that were per user (variable_lists.name, active_strategies) are global.
-- * SERIAL → INTEGER PRIMARY KEY AUTOINCREMENT; JSONB → TEXT holding JSON; VARCHAR[] tags →
--   TEXT holding a JSON array (query with json_each); DECIMAL → TEXT holding the exact decimal;
--   BOOLEAN → INTEGER 0/1; TIMESTAMP → ISO-8601 UTC text like every other table.
-- * Each strategy is a book on the common leaderboard: saving one also writes
--   books(book_id = 'strategy:' || id, kind = 'strategy') in the same transaction.
-- * Headline metrics of backtests and sweep runs are generated columns over the metrics JSON,
--   indexed, so the seed's "find all runs where total_return > 0.5" is a plain indexed WHERE.

-- A. Strategies (seed `strategies`).
CREATE TABLE strategies (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL,
    description      TEXT,
    elements         TEXT NOT NULL DEFAULT '[]',   -- JSON: the allocation tree (may hold $variables)
    weighting        TEXT,                         -- JSON: root weighting (NULL = inferred)
    benchmark_symbol TEXT DEFAULT 'SPY',
    start_date       TEXT,                         -- YYYY-MM-DD
    end_date         TEXT,
    rebalance        TEXT CHECK (rebalance IN ('daily', 'weekly', 'monthly')),
    tags             TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    is_public        INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),   -- kept for export/sharing
    is_archived      INTEGER NOT NULL DEFAULT 0 CHECK (is_archived IN (0, 1)),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE UNIQUE INDEX ux_strategies_name ON strategies (name);
CREATE INDEX ix_strategies_created_at ON strategies (created_at DESC);

-- E. Backtest history (seed `backtest_results`).
CREATE TABLE backtest_results (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    strategy_id        INTEGER REFERENCES strategies (id) ON DELETE SET NULL,
    start_date         TEXT NOT NULL,
    end_date           TEXT NOT NULL,
    benchmark_symbol   TEXT,
    strategy_elements  TEXT NOT NULL,              -- JSON snapshot, variables substituted
    variables          TEXT NOT NULL DEFAULT '{}', -- JSON: the assignment, if any
    rebalance          TEXT NOT NULL,
    initial_capital    REAL NOT NULL,
    fee_bps            REAL NOT NULL DEFAULT 0,
    slippage_bps       REAL NOT NULL DEFAULT 0,
    metrics            TEXT NOT NULL,              -- JSON: {"total_return": 0.45, "sharpe": 1.2, ...}
    equity_curve       TEXT,                       -- JSON: [{"date": "2020-01-02", "value": 100000}, ...]
    positions          TEXT,                       -- JSON: [{"date": ..., "ticker": "SPY", "weight": 0.5}, ...]
    created_at         TEXT NOT NULL,
    total_return       REAL GENERATED ALWAYS AS (json_extract(metrics, '$.total_return')) VIRTUAL,
    sharpe             REAL GENERATED ALWAYS AS (json_extract(metrics, '$.sharpe')) VIRTUAL,
    max_drawdown       REAL GENERATED ALWAYS AS (json_extract(metrics, '$.max_drawdown')) VIRTUAL
);
CREATE INDEX ix_backtest_results_strategy_id ON backtest_results (strategy_id);
CREATE INDEX ix_backtest_results_created_at ON backtest_results (created_at DESC);
CREATE INDEX ix_backtest_results_total_return ON backtest_results (total_return);

-- C. Batch sweeps (seed `batch_jobs`). kind: 'server' = run by the daemon, 'local' = by the CLI.
CREATE TABLE batch_jobs (
    id                  TEXT PRIMARY KEY,
    strategy_id         INTEGER REFERENCES strategies (id) ON DELETE SET NULL,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL DEFAULT 'server' CHECK (kind IN ('server', 'local')),
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed')),
    total               INTEGER NOT NULL DEFAULT 0,
    completed           INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT,
    error               TEXT,
    truncated           INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
    variables           TEXT NOT NULL DEFAULT '[]', -- JSON: [{"name": "ticker", "values": [...], "count": 2}]
    strategy_elements   TEXT NOT NULL,              -- JSON: the template before substitution
    start_date          TEXT,
    end_date            TEXT,
    benchmark_symbol    TEXT,
    config              TEXT NOT NULL DEFAULT '{}', -- JSON: rebalance, capital, fees, workers
    assignments_preview TEXT,                       -- JSON: the first 25 assignments
    summary             TEXT                        -- JSON: {"best": {...}, "worst": {...}, "avg_return": 0.2}
);
CREATE INDEX ix_batch_jobs_strategy_id ON batch_jobs (strategy_id);
CREATE INDEX ix_batch_jobs_status ON batch_jobs (status);
CREATE INDEX ix_batch_jobs_created_at ON batch_jobs (created_at DESC);

-- One row per run of a sweep (seed `batch_job_runs`), so runs are queryable in SQL.
CREATE TABLE batch_job_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_job_id   TEXT NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    run_index      INTEGER NOT NULL,
    variables      TEXT NOT NULL,                  -- JSON: {"ticker": "SPY", "period": "14"}
    metrics        TEXT NOT NULL,                  -- JSON: {"total_return": 0.35, "sharpe": 1.1, ...}; {} if failed
    error          TEXT,                           -- why the run failed (metrics is then {})
    created_at     TEXT NOT NULL,
    total_return   REAL GENERATED ALWAYS AS (json_extract(metrics, '$.total_return')) VIRTUAL,
    sharpe         REAL GENERATED ALWAYS AS (json_extract(metrics, '$.sharpe')) VIRTUAL,
    max_drawdown   REAL GENERATED ALWAYS AS (json_extract(metrics, '$.max_drawdown')) VIRTUAL,
    UNIQUE (batch_job_id, run_index)
);
CREATE INDEX ix_batch_job_runs_total_return ON batch_job_runs (total_return);
CREATE INDEX ix_batch_job_runs_job_sharpe ON batch_job_runs (batch_job_id, sharpe);

-- B. Strategies trading on Alpaca, paper or live (seed `active_strategies`).
CREATE TABLE active_strategies (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    strategy_id         INTEGER NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    mode                TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'stopped')),
    initial_capital     TEXT NOT NULL,             -- decimal
    current_capital     TEXT,                      -- decimal
    started_at          TEXT NOT NULL,
    stopped_at          TEXT,
    last_rebalance_at   TEXT,
    rebalance_frequency TEXT CHECK (rebalance_frequency IN ('daily', 'weekly', 'monthly')),
    rebalance_time      TEXT,                      -- 'HH:MM:SS', America/New_York
    variables           TEXT NOT NULL DEFAULT '{}', -- JSON: assignment for a templated strategy
    UNIQUE (strategy_id, mode)
);
CREATE INDEX ix_active_strategies_status ON active_strategies (status);

-- Daily performance of an active strategy (seed `active_strategy_snapshots`).
CREATE TABLE active_strategy_snapshots (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    active_strategy_id INTEGER NOT NULL REFERENCES active_strategies (id) ON DELETE CASCADE,
    snapshot_date      TEXT NOT NULL,              -- YYYY-MM-DD (New York trading day)
    equity             TEXT NOT NULL,              -- decimal
    holdings           TEXT,                       -- JSON: [{"ticker": "SPY", "shares": "10", "value": "4500"}]
    daily_return       TEXT,                       -- decimal
    cumulative_return  TEXT,                       -- decimal
    created_at         TEXT NOT NULL,
    UNIQUE (active_strategy_id, snapshot_date)
);
CREATE INDEX ix_active_strategy_snapshots_date ON active_strategy_snapshots (snapshot_date DESC);

-- F. Saved variable lists for sweeps (seed `variable_lists`). "values" is quoted: a keyword.
CREATE TABLE variable_lists (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,              -- e.g. tech_tickers, rsi_periods
    type        TEXT NOT NULL CHECK (type IN ('ticker', 'number', 'date')),
    "values"    TEXT NOT NULL DEFAULT '[]',        -- JSON array of strings: ["SPY", "QQQ"]
    description TEXT,
    is_shared   INTEGER NOT NULL DEFAULT 0 CHECK (is_shared IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);

-- Orders placed for active strategies (seed `execution_orders`). Written ahead of sending:
-- the row with its deterministic client_order_id is committed first, the venue's answer after.
CREATE TABLE execution_orders (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    active_strategy_id INTEGER NOT NULL REFERENCES active_strategies (id) ON DELETE CASCADE,
    client_order_id    TEXT NOT NULL UNIQUE,       -- strategy id + rebalance date + symbol
    rebalance_date     TEXT NOT NULL,              -- YYYY-MM-DD
    alpaca_order_id    TEXT UNIQUE,
    symbol             TEXT NOT NULL,
    side               TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity           TEXT NOT NULL,              -- decimal
    order_type         TEXT,                       -- market | limit | ...
    status             TEXT,                       -- pending | new | filled | canceled | rejected | ...
    limit_price        TEXT,
    filled_price       TEXT,
    filled_quantity    TEXT,
    submitted_at       TEXT NOT NULL,
    filled_at          TEXT,
    error_message      TEXT
);
CREATE INDEX ix_execution_orders_active_strategy_id ON execution_orders (active_strategy_id);
CREATE INDEX ix_execution_orders_submitted_at ON execution_orders (submitted_at DESC);

-- Seed triggers: keep updated_at current on every update that does not set it itself.
CREATE TRIGGER tr_strategies_updated_at AFTER UPDATE ON strategies
    FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE strategies SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') WHERE id = NEW.id;
END;
CREATE TRIGGER tr_batch_jobs_updated_at AFTER UPDATE ON batch_jobs
    FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE batch_jobs SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') WHERE id = NEW.id;
END;
CREATE TRIGGER tr_variable_lists_updated_at AFTER UPDATE ON variable_lists
    FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE variable_lists SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') WHERE id = NEW.id;
END;
