-- 0007 own-account reconciliation (issue #20): every difference found between the fade
-- account book and the venue's clearinghouseState for our own address, kept until the operator
-- acknowledges it (`fade.ack_drift`), with how it was resolved.
CREATE TABLE fade_account_drift (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    coin             TEXT NOT NULL,
    ours             TEXT NOT NULL,   -- the account book's size when found (exact decimal)
    venue            TEXT NOT NULL,   -- the venue's size when found
    notional_usd     REAL,            -- |venue - ours| x mark (NULL without a mark)
    cause            TEXT,            -- what explains it, when known (e.g. an order booked
                                      -- not_sent that the venue filled)
    trading_state    TEXT CHECK (trading_state IS NULL OR trading_state IN ('REDUCING', 'HALTED')),
                                      -- what it moved trading to; NULL: under the tolerance
    detected_at      TEXT NOT NULL,
    cleared_at       TEXT,            -- the book and the venue agreed again (still open until
                                      -- acknowledged)
    acknowledged_at  TEXT,
    acknowledged_by  TEXT,
    resolution       TEXT CHECK (resolution IS NULL OR resolution IN ('ack', 'resync')),
    details          TEXT NOT NULL DEFAULT '{}'  -- JSON: the resync's corrections
);
CREATE INDEX ix_fade_account_drift_open ON fade_account_drift (acknowledged_at, coin);
