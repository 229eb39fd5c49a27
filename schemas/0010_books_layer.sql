-- 0010 one books layer (issue #13): a journal of equity writes, so the metrics refresh reads
-- what was written (imports and back-fills of any age), not only what is newer than the newest
-- point it has seen.

-- Every insert or equity change of equity_snapshots appends (book_id, ts) here. The daemon's
-- metrics recompute reads the rows after the last seq it has consumed and deletes consumed
-- rows in its own transaction, so the journal stays small. AUTOINCREMENT: a seq is never
-- reused after a prune, so a reader's watermark can never skip a write.
CREATE TABLE equity_writes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    book_id  TEXT NOT NULL,
    ts       TEXT NOT NULL
);
CREATE TRIGGER tr_equity_writes_insert AFTER INSERT ON equity_snapshots
BEGIN
    INSERT INTO equity_writes (book_id, ts) VALUES (NEW.book_id, NEW.ts);
END;
CREATE TRIGGER tr_equity_writes_update AFTER UPDATE OF equity ON equity_snapshots
BEGIN
    INSERT INTO equity_writes (book_id, ts) VALUES (NEW.book_id, NEW.ts);
END;

-- The members of each aggregate, by role: 'fade' = every fade book; 'bots' = every bot book we
-- fade (bot:<id> with a fade:<id> book), not the tracker's other nof1 books.
CREATE VIEW aggregate_members AS
SELECT book_id, 'fade' AS aggregate FROM books WHERE kind = 'fade'
UNION ALL
SELECT b.book_id, 'bots' AS aggregate FROM books b
WHERE b.kind = 'bot'
  AND EXISTS (SELECT 1 FROM books f WHERE f.kind = 'fade' AND f.book_id = 'fade:' || substr(b.book_id, 5));

-- Seed 004 EquitySnapshot: at every instant a member book has a point, the sum of the bots we
-- fade (bots_aggregate = botsAggregate) and of our fade books (fade_arena = fadeArena), each
-- book carried forward from its last point (a book counts from its first point on);
-- bot_equities = botEquities (bot id -> equity), fade_equities likewise for the fade books.
CREATE VIEW fade_equity_snapshots AS
WITH instants AS (
    SELECT DISTINCT e.ts FROM equity_snapshots e JOIN aggregate_members m ON m.book_id = e.book_id
), marks AS (
    SELECT i.ts, m.book_id, m.aggregate,
           (SELECT e.equity FROM equity_snapshots e WHERE e.book_id = m.book_id AND e.ts <= i.ts
             ORDER BY e.ts DESC LIMIT 1) AS equity
    FROM instants i CROSS JOIN aggregate_members m
)
SELECT row_number() OVER (ORDER BY ts) AS id, ts AS timestamp,
       sum(equity) FILTER (WHERE aggregate = 'bots') AS bots_aggregate,
       sum(equity) FILTER (WHERE aggregate = 'fade') AS fade_arena,
       json_group_object(substr(book_id, 5), equity)
           FILTER (WHERE aggregate = 'bots' AND equity IS NOT NULL) AS bot_equities,
       json_group_object(substr(book_id, 6), equity)
           FILTER (WHERE aggregate = 'fade' AND equity IS NOT NULL) AS fade_equities
FROM marks GROUP BY ts;

-- Seed 000 model_performance, now saying which figures rest on too small a sample: such a
-- figure is NULL in current_standings (and here), `insufficient` names it (JSON list), and the
-- *_insufficient columns flag the seed's ratios one by one; `points` is the number of returns
-- the ratios rest on.
DROP VIEW model_performance;
CREATE VIEW model_performance AS
SELECT b.book_id AS model_id, b.name AS model_name, b.provider, b.kind,
       c.trades AS total_trades, c.winning_trades, c.losing_trades, c.hold_decisions,
       c.total_pnl, c.win_rate, c.avg_win, c.avg_loss, c.profit_factor,
       c.sharpe AS sharpe_ratio, c.max_drawdown, c.avg_confidence, c.best_timeframe,
       c.best_symbol AS best_sector, c.rank,
       (SELECT h.rank_change FROM rank_history h
         WHERE h.timeframe = 'all_time' AND h.book_id = b.book_id
         ORDER BY h.snapshot_time DESC LIMIT 1) AS rank_change,
       c.updated_at AS last_updated,
       c.points,
       c.insufficient,
       EXISTS (SELECT 1 FROM json_each(c.insufficient) WHERE value = 'sharpe') AS sharpe_insufficient,
       EXISTS (SELECT 1 FROM json_each(c.insufficient) WHERE value = 'win_rate') AS win_rate_insufficient,
       EXISTS (SELECT 1 FROM json_each(c.insufficient) WHERE value = 'profit_factor') AS profit_factor_insufficient,
       EXISTS (SELECT 1 FROM json_each(c.insufficient) WHERE value = 'max_drawdown') AS max_drawdown_insufficient
FROM books b JOIN current_standings c ON c.book_id = b.book_id;
