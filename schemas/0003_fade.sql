-- 0003 fade (seed 004): bot trade events, strategy decisions, our orders and their fills
-- allocated to fade books, positions of every bot, fade book and the account, operator pause.
-- Exact decimals (prices, sizes) are TEXT; derived money (notional, P&L) is REAL.

-- BotTradeEvent: one row per bot fill, with the position change it implies. A fill is stored
-- once however often it is delivered (snapshot, live, backfill, poll): UNIQUE (wallet,
-- fill_key), fill_key = "hash:tid" (legacy fills without tid: hash, oid, time, coin, px, sz).
CREATE TABLE fade_bot_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    bot_id         TEXT NOT NULL,
    wallet         TEXT NOT NULL,
    ts             TEXT NOT NULL,          -- the fill's time
    time_ms        INTEGER NOT NULL,
    event_type     TEXT NOT NULL DEFAULT 'fill' CHECK (event_type IN ('fill', 'position-change')),
    coin           TEXT NOT NULL,
    side           TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    size           TEXT NOT NULL,
    price          TEXT NOT NULL,
    notional       REAL NOT NULL,
    previous_size  TEXT NOT NULL,          -- startPosition (signed)
    current_size   TEXT NOT NULL,          -- after the fill (signed)
    dir            TEXT,                   -- Open Long, Close Short, Long > Short, ...
    closed_pnl     TEXT,
    fee            TEXT,
    fee_token      TEXT,
    hash           TEXT NOT NULL,
    tid            INTEGER,
    oid            INTEGER,
    fill_key       TEXT NOT NULL,
    source         TEXT NOT NULL,          -- snapshot | live | backfill | poll | replay
    raw            TEXT NOT NULL,          -- the fill as received (JSON)
    received_at    TEXT NOT NULL,
    UNIQUE (wallet, fill_key)
);
CREATE INDEX ix_fade_bot_events_bot ON fade_bot_events (bot_id, ts);
CREATE INDEX ix_fade_bot_events_ts ON fade_bot_events (ts);
CREATE INDEX ix_fade_bot_events_coin ON fade_bot_events (coin, ts);

-- StrategyDecision: one per bot event (execute or skip), with every guard's verdict and the
-- settings in force. order_size is the signed change the decision asks of its fade book.
CREATE TABLE fade_decisions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id           INTEGER REFERENCES fade_bot_events (id),
    bot_id             TEXT NOT NULL,
    book_id            TEXT NOT NULL,      -- fade:<bot id>
    ts                 TEXT NOT NULL,
    coin               TEXT NOT NULL,
    decision           TEXT NOT NULL CHECK (decision IN ('execute', 'skip')),
    reason             TEXT NOT NULL,
    skip_reason        TEXT,
    bot_position       TEXT NOT NULL,      -- the bot's position after the event
    target_size        TEXT NOT NULL,      -- the fade book's target
    book_size          TEXT NOT NULL,      -- the fade book's position before
    order_size         TEXT NOT NULL,      -- signed change asked (after clipping); '0' on skip
    mark_price         TEXT,
    risk_checks        TEXT NOT NULL,      -- JSON list of {name, allowed, reason, ...}
    settings_snapshot  TEXT NOT NULL       -- JSON
);
CREATE INDEX ix_fade_decisions_event ON fade_decisions (event_id);
CREATE INDEX ix_fade_decisions_bot ON fade_decisions (bot_id, ts);
CREATE INDEX ix_fade_decisions_ts ON fade_decisions (ts);
CREATE INDEX ix_fade_decisions_decision ON fade_decisions (decision, ts);

-- MyTrade: our orders. The row is written (status 'intent') and committed BEFORE the order is
-- sent; its cloid derives from the event, so a restart finds it and asks the venue by cloid
-- instead of sending again. One account order may serve several fade books' decisions
-- (netted): see fade_order_books.
CREATE TABLE fade_orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    cloid            TEXT NOT NULL UNIQUE,  -- 0x + 32 hex
    event_id         INTEGER REFERENCES fade_bot_events (id),
    decision_id      INTEGER REFERENCES fade_decisions (id),
    bot_id           TEXT,                  -- the bot it mirrors (NULL: manual / several)
    ts               TEXT NOT NULL,
    coin             TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    size             TEXT NOT NULL,
    limit_price      TEXT,
    reduce_only      INTEGER NOT NULL DEFAULT 0,
    simulated        INTEGER NOT NULL CHECK (simulated IN (0, 1)),
    network          TEXT NOT NULL,         -- paper | sim | testnet | mainnet
    status           TEXT NOT NULL DEFAULT 'intent',
                     -- intent | submitted | filled | partially_filled | rejected | cancelled
                     -- | not_sent (never reached the venue) | unknown (answer lost)
    venue_oid        INTEGER,
    filled_size      TEXT NOT NULL DEFAULT '0',
    avg_price        TEXT,
    fee              TEXT NOT NULL DEFAULT '0',
    notional         REAL,
    realized_pnl     REAL,                  -- of the fade books, from this order's fill
    order_request    TEXT NOT NULL,         -- JSON
    order_result     TEXT,                  -- JSON
    error            TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX ix_fade_orders_bot ON fade_orders (bot_id, ts);
CREATE INDEX ix_fade_orders_ts ON fade_orders (ts);
CREATE INDEX ix_fade_orders_coin ON fade_orders (coin, ts);
CREATE INDEX ix_fade_orders_status ON fade_orders (status);

-- Which fade books an order serves, the change each asked, and the share of the fill each was
-- credited (the books always sum to the account's position).
CREATE TABLE fade_order_books (
    order_id        INTEGER NOT NULL REFERENCES fade_orders (id),
    book_id         TEXT NOT NULL,
    decision_id     INTEGER REFERENCES fade_decisions (id),
    asked           TEXT NOT NULL,          -- signed
    credited        TEXT NOT NULL DEFAULT '0',  -- signed
    price           TEXT,
    fee             TEXT NOT NULL DEFAULT '0',
    realized_pnl    TEXT NOT NULL DEFAULT '0',
    PRIMARY KEY (order_id, book_id)
);

-- Positions of bot books (from their fills), fade books (from credited fills) and the account
-- ('account'), per coin; a flat position keeps its row (size '0') with its realized totals.
CREATE TABLE fade_positions (
    book_id        TEXT NOT NULL,
    coin           TEXT NOT NULL,
    size           TEXT NOT NULL,
    entry_price    TEXT,
    opened_at      TEXT,
    realized_pnl   TEXT NOT NULL DEFAULT '0',
    fees           TEXT NOT NULL DEFAULT '0',
    funding        TEXT NOT NULL DEFAULT '0',
    trip           TEXT NOT NULL DEFAULT '{}',  -- JSON: the open round trip's running totals
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (book_id, coin)
) WITHOUT ROWID;

-- Operator pause of a bot (distinct from `enabled` in config): persisted across restarts.
CREATE TABLE fade_bot_state (
    bot_id      TEXT PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    paused_by   TEXT,
    updated_at  TEXT NOT NULL
);
