-- 0013 significance (issue 15): model_performance gains how likely each book's lead is to be
-- luck, what its decisions cost and whether its confidence means anything. The figures live
-- in current_standings.metrics (JSON, every figure of the standing); a figure that is not a
-- number is NULL here and its reason is in significance_flags (JSON object figure -> reason).
-- Columns up to `max_drawdown_insufficient` are 0010's, unchanged, then 0011's `last_trade_at`
-- (from book_activity); the added ones are in the
-- block marked below (other migrations recreating this view: keep that block whole).
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
       a.last_trade_at,
       -- >>> 0013 significance block (issue 15) >>>
       json_extract(c.metrics, '$.psr') AS psr,
       json_extract(c.metrics, '$.psr_vs_benchmark') AS psr_vs_benchmark,
       json_extract(c.metrics, '$.dsr') AS dsr,
       json_extract(c.metrics, '$.dsr_trials') AS dsr_trials,
       json_extract(c.metrics, '$.min_track_record_length') AS min_track_record_length,
       json_extract(c.metrics, '$.sharpe_ci[0]') AS sharpe_ci_lo,
       json_extract(c.metrics, '$.sharpe_ci[1]') AS sharpe_ci_hi,
       json_extract(c.metrics, '$.return_ci[0]') AS return_ci_lo,
       json_extract(c.metrics, '$.return_ci[1]') AS return_ci_hi,
       json_extract(c.metrics, '$.alpha') AS alpha,
       json_extract(c.metrics, '$.beta') AS beta,
       json_extract(c.metrics, '$.benchmark') AS benchmark,
       coalesce(json_extract(c.metrics, '$.verdict'), 'insufficient') AS verdict,
       json_extract(c.metrics, '$.behaviour.cost_usd') AS inference_cost_usd,
       json_extract(c.metrics, '$.behaviour.cost_per_decision_usd') AS cost_per_decision_usd,
       json_extract(c.metrics, '$.behaviour.parse_failure_rate') AS parse_failure_rate,
       json_extract(c.metrics, '$.behaviour.rail_refusal_rate') AS rail_refusal_rate,
       json_extract(c.metrics, '$.behaviour.hold_rate') AS hold_rate,
       json_extract(c.metrics, '$.behaviour.latency_p50_ms') AS latency_p50_ms,
       json_extract(c.metrics, '$.behaviour.latency_p95_ms') AS latency_p95_ms,
       json_extract(c.metrics, '$.calibration.brier') AS calibration_brier,
       json_extract(c.metrics, '$.fadeability.net_return') AS fadeability_net_return,
       json_extract(c.metrics, '$.crowding') AS crowding,
       coalesce(json_extract(c.metrics, '$.significance_flags'), '{}') AS significance_flags
       -- <<< 0013 significance block <<<
FROM books b
JOIN current_standings c ON c.book_id = b.book_id
LEFT JOIN book_activity a ON a.book_id = b.book_id;
