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
