-- 0011 books layer, part 2 (issue #13): when each book last traded, in model_performance.

-- Per book: its last closed round trip (exit time) and its last decision. A view of its own so
-- model_performance stays a join of named parts: a later migration re-creating
-- model_performance (e.g. to add columns) selects v.* from here and keeps this one.
CREATE VIEW book_activity AS
SELECT b.book_id,
       (SELECT max(t.exit_time) FROM trade_log t WHERE t.book_id = b.book_id) AS last_trade_at,
       (SELECT max(d.ts) FROM decision_log d WHERE d.book_id = b.book_id) AS last_decision_at
FROM books b;

-- model_performance of 0010 plus last_trade_at (seed 000's ModelPerformance.last_trade_at).
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
       EXISTS (SELECT 1 FROM json_each(c.insufficient) WHERE value = 'max_drawdown') AS max_drawdown_insufficient,
       a.last_trade_at
FROM books b
JOIN current_standings c ON c.book_id = b.book_id
LEFT JOIN book_activity a ON a.book_id = b.book_id;
