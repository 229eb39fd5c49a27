"""The books layer: the one owner of the shared book tables (schemas/0002).

Every competitor on the leaderboard — bots, fade books, arena models, allocation strategies,
benchmarks, nof1 models — is a *book*. Engines never write ``books``, ``equity_snapshots``,
``trade_log`` or ``decision_log`` themselves (tests/books/test_ownership.py checks their SQL):

- ``arenad.books.tables`` — the statements, as functions of a connection, so an engine runs
  them inside its own store-writer transaction where atomicity matters (a fill and its round
  trips commit together);
- ``arenad.books.layer.BooksLayer`` — what runs beside the engines: equity snapshots through a
  coalescer (at most one per book per ``[metrics] min_snapshot_interval_s``; forced ones at
  start and shutdown are always written), and the ``position`` / ``equity`` bus topics.
"""

from arenad.books.layer import BooksLayer
from arenad.books.tables import BookSpec, DecisionEntry, EquityPoint, RoundTrip

__all__ = ["BookSpec", "BooksLayer", "DecisionEntry", "EquityPoint", "RoundTrip"]
