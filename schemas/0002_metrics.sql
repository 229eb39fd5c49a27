-- 0002 metrics (seed 001, leaderboard parts of seed 000): equity snapshots, period summaries,
-- round trips, the decision log, standings and leaderboard snapshots, all keyed by book
-- (books.book_id). Engines write equity_snapshots, trade_log and decision_log for their books;
-- arenad.metrics.recompute derives everything else from them.

-- Equity of a book over time. Engines write at full resolution ('raw'); retention later
-- replaces old raw rows by the last one of each hour ('hourly'). One row per book and instant.
CREATE TABLE equity_snapshots (
    book_id         TEXT NOT NULL,
    ts              TEXT NOT NULL,
    equity          REAL NOT NULL,
    cash            REAL,
    positions_value REAL,
    positions_count INTEGER,
    realized_pnl    REAL,             -- cumulative since the book began
    unrealized_pnl  REAL,
    fees            REAL,             -- cumulative
    funding         REAL,             -- cumulative
    resolution      TEXT NOT NULL DEFAULT 'raw' CHECK (resolution IN ('raw', 'hourly')),
    PRIMARY KEY (book_id, ts)
) WITHOUT ROWID;
CREATE INDEX ix_equity_snapshots_ts ON equity_snapshots (ts);

-- Seed 001 hourly_snapshots: the last snapshot of each hour of each book.
CREATE VIEW hourly_snapshots AS
SELECT e.book_id AS model_id, e.book_id, substr(e.ts, 1, 13) || ':00:00.000000Z' AS hour,
       e.ts AS timestamp, e.equity, e.cash, e.positions_value, e.positions_count
FROM equity_snapshots e
WHERE e.ts = (SELECT max(x.ts) FROM equity_snapshots x
              WHERE x.book_id = e.book_id AND substr(x.ts, 1, 13) = substr(e.ts, 1, 13));

-- Round trips (seed 001 trade_log): one row per closed trade of a book. source/source_id
-- name the engine row it came from, so re-recording a trade is a no-op.
CREATE TABLE trade_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    book_id       TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    quantity      TEXT NOT NULL,      -- exact decimal
    entry_time    TEXT NOT NULL,
    entry_price   TEXT NOT NULL,      -- exact decimal
    exit_time     TEXT NOT NULL,
    exit_price    TEXT NOT NULL,      -- exact decimal
    realized_pnl  REAL NOT NULL,      -- net of fees
    pnl_pct       REAL,
    fees          REAL NOT NULL DEFAULT 0,
    exit_reason   TEXT,
    timeframe     TEXT,               -- the deciding model's timeframe, when it gave one
    source        TEXT NOT NULL,      -- fade | arena | nof1 | strategy | ...
    source_id     TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (source, source_id)
);
CREATE INDEX ix_trade_log_book ON trade_log (book_id, exit_time);
CREATE INDEX ix_trade_log_symbol ON trade_log (symbol, exit_time);
CREATE INDEX ix_trade_log_exit ON trade_log (exit_time);

-- Every decision of every book, with its reasoning (seed 001 decision_log).
CREATE TABLE decision_log (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    book_id           TEXT NOT NULL,
    model_id          TEXT,           -- the deciding model (arena model, nof1 model, bot id)
    symbol            TEXT,
    ts                TEXT NOT NULL,
    decision          TEXT NOT NULL,  -- buy | sell | hold | close | short | execute | skip | ...
    reasoning         TEXT,
    confidence        REAL CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    current_price     TEXT,
    position_size     TEXT,
    entry_price       TEXT,
    stop_loss         TEXT,
    take_profit       TEXT,
    direction         TEXT,           -- long | short
    timeframe         TEXT,
    executed          INTEGER NOT NULL DEFAULT 0 CHECK (executed IN (0, 1)),
    execution_price   TEXT,
    execution_time    TEXT,
    execution_status  TEXT,
    source            TEXT NOT NULL,  -- arena | fade | nof1 | strategy
    source_id         TEXT NOT NULL,  -- the engine's own row id
    details           TEXT NOT NULL DEFAULT '{}',
    UNIQUE (source, source_id)
);
CREATE INDEX ix_decision_log_book ON decision_log (book_id, ts);
CREATE INDEX ix_decision_log_model ON decision_log (model_id, ts);
CREATE INDEX ix_decision_log_symbol ON decision_log (symbol, ts);
CREATE INDEX ix_decision_log_model_symbol ON decision_log (model_id, symbol, ts);
CREATE INDEX ix_decision_log_executed ON decision_log (executed, ts);

-- Decisions of different books on the same symbol within 5 minutes of each other.
CREATE VIEW decision_comparison AS
SELECT a.symbol,
       a.id AS decision_a_id, a.book_id AS book_a, a.model_id AS model_a, a.ts AS ts_a,
       a.decision AS decision_a, a.confidence AS confidence_a,
       b.id AS decision_b_id, b.book_id AS book_b, b.model_id AS model_b, b.ts AS ts_b,
       b.decision AS decision_b, b.confidence AS confidence_b,
       round((julianday(b.ts) - julianday(a.ts)) * 86400.0, 3) AS time_diff_seconds,
       (a.decision = b.decision) AS same_decision
FROM decision_log a
JOIN decision_log b
  ON b.symbol = a.symbol AND b.book_id <> a.book_id
 AND b.ts >= a.ts
 AND b.ts <= strftime('%Y-%m-%dT%H:%M:%fZ', a.ts, '+300 seconds')
 AND (b.ts > a.ts OR b.id > a.id)
WHERE a.symbol IS NOT NULL;

-- Daily, weekly and monthly summaries of each book (period_start: the period's first day,
-- UTC; weeks start on Monday).
CREATE TABLE period_summaries (
    book_id          TEXT NOT NULL,
    period           TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
    period_start     TEXT NOT NULL,   -- YYYY-MM-DD
    opening_equity   REAL NOT NULL,
    closing_equity   REAL NOT NULL,
    high_equity      REAL NOT NULL,
    low_equity       REAL NOT NULL,
    pnl              REAL NOT NULL,
    return_pct       REAL NOT NULL,
    trades_opened    INTEGER NOT NULL DEFAULT 0,
    trades_closed    INTEGER NOT NULL DEFAULT 0,
    winning_trades   INTEGER NOT NULL DEFAULT 0,
    win_rate         REAL,            -- fraction; NULL with no closed trade
    volatility       REAL,            -- of the period's snapshot returns (not annualized)
    max_drawdown     REAL,            -- negative fraction within the period
    points           INTEGER NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (book_id, period, period_start)
) WITHOUT ROWID;
CREATE VIEW daily_summaries AS
    SELECT book_id AS model_id, period_start AS date, * FROM period_summaries WHERE period = 'daily';
CREATE VIEW weekly_summaries AS
    SELECT book_id AS model_id, period_start AS week_start, * FROM period_summaries WHERE period = 'weekly';
CREATE VIEW monthly_summaries AS
    SELECT book_id AS model_id, period_start AS month_start, * FROM period_summaries WHERE period = 'monthly';

-- One row per book: its all-time figures, rewritten when a trade closes or a snapshot lands.
-- Ratios are fractions (0.12 = 12 %); insufficient is a JSON list of the figures resting on
-- too small a sample ([metrics] min_points / min_trades), which are not ranked on.
CREATE TABLE current_standings (
    book_id           TEXT PRIMARY KEY,
    rank              INTEGER,
    equity            REAL,
    initial_capital   REAL,
    total_pnl         REAL,
    total_return      REAL,
    annual_return     REAL,
    annual_volatility REAL,
    sharpe            REAL,
    sortino           REAL,
    max_drawdown      REAL,
    max_drawdown_usd  REAL,
    calmar            REAL,
    trades            INTEGER NOT NULL DEFAULT 0,
    winning_trades    INTEGER NOT NULL DEFAULT 0,
    losing_trades     INTEGER NOT NULL DEFAULT 0,
    win_rate          REAL,
    avg_win           REAL,
    avg_loss          REAL,
    profit_factor     REAL,
    expectancy        REAL,
    decisions         INTEGER NOT NULL DEFAULT 0,
    hold_decisions    INTEGER NOT NULL DEFAULT 0,
    avg_confidence    REAL,
    best_timeframe    TEXT,
    best_symbol       TEXT,
    points            INTEGER NOT NULL DEFAULT 0,
    metrics           TEXT NOT NULL DEFAULT '{}',   -- every figure with its sample size
    insufficient      TEXT NOT NULL DEFAULT '[]',
    updated_at        TEXT NOT NULL
);
CREATE INDEX ix_current_standings_return ON current_standings (total_return DESC);
CREATE INDEX ix_current_standings_sharpe ON current_standings (sharpe DESC);

-- The ranking of each timeframe as it stood at each recompute.
CREATE TABLE leaderboard_snapshots (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    timeframe         TEXT NOT NULL CHECK (timeframe IN ('daily', 'weekly', 'monthly', 'all_time')),
    snapshot_time     TEXT NOT NULL,
    book_id           TEXT NOT NULL,
    rank              INTEGER,        -- NULL: not ranked (no equity in the window)
    equity            REAL,
    total_pnl         REAL,
    total_return      REAL,
    sharpe            REAL,
    sortino           REAL,
    max_drawdown      REAL,
    calmar            REAL,
    win_rate          REAL,
    profit_factor     REAL,
    trades            INTEGER NOT NULL DEFAULT 0,
    metrics           TEXT NOT NULL DEFAULT '{}',
    insufficient      TEXT NOT NULL DEFAULT '[]',
    UNIQUE (timeframe, snapshot_time, book_id)
);
CREATE INDEX ix_leaderboard_snapshots_tf ON leaderboard_snapshots (timeframe, snapshot_time);
CREATE INDEX ix_leaderboard_snapshots_book ON leaderboard_snapshots (book_id, timeframe, snapshot_time);

-- Previous rank and the change (positive = moved up) of each book at each snapshot.
CREATE VIEW rank_history AS
SELECT timeframe, snapshot_time, book_id, rank,
       LAG(rank) OVER (PARTITION BY timeframe, book_id ORDER BY snapshot_time) AS previous_rank,
       LAG(rank) OVER (PARTITION BY timeframe, book_id ORDER BY snapshot_time) - rank AS rank_change
FROM leaderboard_snapshots;

-- The top 10 of the newest snapshot of each timeframe.
CREATE VIEW top_performers AS
SELECT s.* FROM leaderboard_snapshots s
WHERE s.rank IS NOT NULL AND s.rank <= 10
  AND s.snapshot_time = (SELECT max(x.snapshot_time) FROM leaderboard_snapshots x
                         WHERE x.timeframe = s.timeframe);

-- Seed 000 model_performance: a book's standing with its rank change on the all-time board.
CREATE VIEW model_performance AS
SELECT b.book_id AS model_id, b.name AS model_name, b.provider, b.kind,
       c.trades AS total_trades, c.winning_trades, c.losing_trades, c.hold_decisions,
       c.total_pnl, c.win_rate, c.avg_win, c.avg_loss, c.profit_factor,
       c.sharpe AS sharpe_ratio, c.max_drawdown, c.avg_confidence, c.best_timeframe,
       c.best_symbol AS best_sector, c.rank,
       (SELECT h.rank_change FROM rank_history h
         WHERE h.timeframe = 'all_time' AND h.book_id = b.book_id
         ORDER BY h.snapshot_time DESC LIMIT 1) AS rank_change,
       c.updated_at AS last_updated
FROM books b JOIN current_standings c ON c.book_id = b.book_id;
