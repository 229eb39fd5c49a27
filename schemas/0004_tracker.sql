-- 0004 tracker (seed 002): the public nof1.ai Alpha Arena competition as the API reports it.
-- Every row keeps the API's JSON (`raw`) beside the parsed columns, so a field the parser does
-- not know yet is never lost. Exact decimals (prices, sizes, dollars) are TEXT holding the
-- API's own digits; derived figures (pnl, pnl_percent for the seed's example queries) are REAL.
-- Each model is also a book (books.book_id, see nof1_models.book_id): its equity curve goes to
-- equity_snapshots, its round trips to trade_log and its per-coin decisions to decision_log
-- (source 'nof1'), so it ranks on the common leaderboard. Tables are prefixed nof1_ because
-- 0002 already has a leaderboard_snapshots of its own (the ranking of our books).

CREATE TABLE nof1_seasons (
    season_number   INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    start_date      TEXT,                -- first inception date the API reports
    end_date        TEXT,                -- NULL while running
    initial_capital TEXT NOT NULL DEFAULT '10000',
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'completed', 'cancelled')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT
);

-- Seed llm_models. model_id is the API's id ("gpt-5"); book_id the book its curve, round
-- trips and decisions are written to (a [[fade.bots]] book when the wallet matches).
CREATE TABLE nof1_models (
    model_id        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    provider        TEXT,
    wallet          TEXT,
    book_id         TEXT NOT NULL,
    season_number   INTEGER,
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    inception_date  TEXT,
    initial_capital TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT
);
CREATE INDEX ix_nof1_models_name ON nof1_models (name);
CREATE INDEX ix_nof1_models_wallet ON nof1_models (wallet);
CREATE INDEX ix_nof1_models_book ON nof1_models (book_id);

-- Seed leaderboard_snapshots: /leaderboard at each poll (ts = the poll, or the recorded
-- snapshot's time on import). rank is by equity, 1 = richest; pnl = equity - initial capital.
CREATE TABLE nof1_leaderboard_snapshots (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    season_number   INTEGER,
    model_id        TEXT NOT NULL,
    ts              TEXT NOT NULL,
    rank            INTEGER NOT NULL,
    total_assets    TEXT NOT NULL,       -- equity, USD
    pnl             REAL NOT NULL,
    pnl_percent     REAL NOT NULL,       -- the API's return_pct
    roi             REAL,                -- fraction (pnl_percent / 100)
    win_rate        REAL,                -- percent of num_trades; NULL with no trade
    total_trades    INTEGER NOT NULL DEFAULT 0,
    num_wins        INTEGER,
    num_losses      INTEGER,
    win_dollars     TEXT,
    lose_dollars    TEXT,
    sharpe          REAL,
    raw             TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (model_id, ts)
);
CREATE INDEX ix_nof1_leaderboard_ts ON nof1_leaderboard_snapshots (ts);

-- Seed trades: /trades round trips. trade_id is the API's trade_id (entry time, coin, exit
-- time, model); nof1_id its document id. quantity is signed (short < 0) as the API gives it.
CREATE TABLE nof1_trades (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id            TEXT NOT NULL UNIQUE,
    nof1_id             TEXT,
    model_id            TEXT NOT NULL,
    symbol              TEXT NOT NULL,
    side                TEXT NOT NULL CHECK (side IN ('long', 'short')),
    trade_type          TEXT,
    quantity            TEXT NOT NULL,
    entry_sz            TEXT,
    exit_sz             TEXT,
    leverage            INTEGER NOT NULL DEFAULT 1,
    confidence          REAL,
    entry_price         TEXT NOT NULL,
    exit_price          TEXT,
    opened_at           TEXT NOT NULL,
    closed_at           TEXT,
    entry_oid           INTEGER,
    exit_oid            INTEGER,
    entry_tid           INTEGER,
    exit_tid            INTEGER,
    entry_crossed       INTEGER,
    exit_crossed        INTEGER,
    entry_commission    TEXT,
    exit_commission     TEXT,
    total_commission    TEXT,
    entry_closed_pnl    TEXT,
    exit_closed_pnl     TEXT,
    realized_gross_pnl  TEXT,
    realized_net_pnl    TEXT,
    pnl                 REAL,                -- realized_net_pnl as a number (seed `pnl`)
    pnl_percent         REAL,                -- gross P&L over entry notional, percent
    exit_plan           TEXT NOT NULL DEFAULT '{}',   -- JSON
    entry_liquidation   TEXT,                -- JSON or NULL
    exit_liquidation    TEXT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'closed', 'cancelled')),
    raw                 TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX ix_nof1_trades_model ON nof1_trades (model_id, opened_at);
CREATE INDEX ix_nof1_trades_symbol ON nof1_trades (symbol);
CREATE INDEX ix_nof1_trades_opened ON nof1_trades (opened_at);
CREATE INDEX ix_nof1_trades_closed ON nof1_trades (model_id, closed_at);

-- Seed model_chats: one model invocation (/conversations). content is the chain-of-thought
-- trace (JSON text when the model answered it as an object); decision/symbol/confidence are
-- the chat's headline: its first non-hold decision, else its first hold (seed ChatDecision:
-- buy | sell | hold | none = close).
CREATE TABLE nof1_chats (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id             TEXT NOT NULL UNIQUE,
    model_id            TEXT NOT NULL,
    cycle_id            INTEGER,
    run_id              TEXT,
    skill               TEXT,
    ts                  TEXT NOT NULL,
    inserted_at         TEXT,
    user_prompt         TEXT,
    content             TEXT NOT NULL,       -- cot_trace
    cot_trace_summary   TEXT,
    llm_response        TEXT NOT NULL DEFAULT '{}',   -- JSON
    decision            TEXT CHECK (decision IS NULL OR decision IN ('buy', 'sell', 'hold', 'none')),
    symbol              TEXT,
    confidence          REAL,                -- 0-100, as the seed has it
    raw                 TEXT NOT NULL,       -- the chat's JSON less the texts kept verbatim
                                             -- above (user_prompt, a text cot_trace)
    created_at          TEXT NOT NULL
);
CREATE INDEX ix_nof1_chats_model_ts ON nof1_chats (model_id, ts);
CREATE INDEX ix_nof1_chats_ts ON nof1_chats (ts);

-- The per-coin decisions of a chat (llm_response: one object per coin).
CREATE TABLE nof1_chat_decisions (
    chat_id                 TEXT NOT NULL REFERENCES nof1_chats (chat_id),
    coin                    TEXT NOT NULL,
    signal                  TEXT NOT NULL,   -- buy_to_enter | sell_to_enter | hold | close_position | ...
    quantity                TEXT,
    leverage                TEXT,
    confidence              REAL,            -- 0-1
    stop_loss               TEXT,
    profit_target           TEXT,
    risk_usd                TEXT,
    invalidation_condition  TEXT,
    justification           TEXT,
    raw                     TEXT NOT NULL,
    PRIMARY KEY (chat_id, coin)
) WITHOUT ROWID;

-- /account-totals: one row per model and hourly (or newer) point, with its open positions.
CREATE TABLE nof1_account_totals (
    id                              INTEGER PRIMARY KEY AUTOINCREMENT,
    nof1_id                         TEXT,
    model_id                        TEXT NOT NULL,
    ts                              TEXT NOT NULL,
    dollar_equity                   TEXT NOT NULL,
    realized_pnl                    TEXT,
    total_unrealized_pnl            TEXT,
    cum_pnl_pct                     REAL,
    sharpe_ratio                    REAL,
    since_inception_hourly_marker   INTEGER,
    since_inception_minute_marker   INTEGER,
    positions_count                 INTEGER NOT NULL DEFAULT 0,
    raw                             TEXT NOT NULL,
    created_at                      TEXT NOT NULL,
    UNIQUE (model_id, ts)
);
CREATE INDEX ix_nof1_account_totals_ts ON nof1_account_totals (ts);

CREATE TABLE nof1_positions (
    model_id            TEXT NOT NULL,
    ts                  TEXT NOT NULL,       -- the account-totals row it belongs to
    symbol              TEXT NOT NULL,
    quantity            TEXT NOT NULL,       -- signed
    entry_price         TEXT,
    current_price       TEXT,
    leverage            TEXT,
    margin              TEXT,
    unrealized_pnl      TEXT,
    closed_pnl          TEXT,
    commission          TEXT,
    liquidation_price   TEXT,
    risk_usd            TEXT,
    confidence          REAL,
    exit_plan           TEXT NOT NULL DEFAULT '{}',
    entry_time          TEXT,
    entry_oid           INTEGER,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (model_id, ts, symbol)
) WITHOUT ROWID;

-- /since-inception-values: each model's inception NAV and date.
CREATE TABLE nof1_since_inception (
    nof1_id             TEXT PRIMARY KEY,
    model_id            TEXT NOT NULL,
    nav_since_inception TEXT NOT NULL,
    inception_date      TEXT NOT NULL,
    num_invocations     INTEGER,
    raw                 TEXT NOT NULL,
    fetched_at          TEXT NOT NULL
);
CREATE INDEX ix_nof1_since_inception_model ON nof1_since_inception (model_id);

-- /analytics: the site's own per-model statistics at each update.
CREATE TABLE nof1_analytics (
    model_id                TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    total_trades            INTEGER,
    win_rate                REAL,            -- percent
    overall_pnl_with_fees   REAL,
    total_fees_paid         REAL,
    raw                     TEXT NOT NULL,
    PRIMARY KEY (model_id, updated_at)
) WITHOUT ROWID;

-- /crypto-prices.
CREATE TABLE nof1_crypto_prices (
    symbol  TEXT NOT NULL,
    ts      TEXT NOT NULL,
    price   TEXT NOT NULL,
    raw     TEXT NOT NULL,
    PRIMARY KEY (symbol, ts)
) WITHOUT ROWID;

-- Poller state that survives restarts (the account-totals lastHourlyMarker).
CREATE TABLE nof1_poll_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
