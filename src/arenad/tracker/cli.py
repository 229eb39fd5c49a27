"""`arenad tracker import DIR`: ingest a recorded nof1 snapshot directory (one
``<endpoint>.json`` per endpoint, and optionally the recorder's ``index.json``) into the
configured database, through the same parse-and-store path as the poller. Re-importing is a
no-op. Works whether or not the daemon runs (WAL; the daemon's next recompute ranks the
imported books)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from arenad.config.settings import Settings
from arenad.daemon.events import INSERT_EVENT
from arenad.store.db import utc_iso
from arenad.store.migrate import migrate
from arenad.store.writer import StoreWriter
from arenad.tracker.ingest import ingest_body
from arenad.tracker.models import fade_bot_refs
from arenad.tracker.parse import ENDPOINTS, ResponseError
from arenad.tracker.store import TrackerStore

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    tracker = sub.add_parser("tracker", help="the nof1.ai Alpha Arena tracker")
    tsub = tracker.add_subparsers(dest="tracker_command", metavar="COMMAND")
    tsub.required = True
    imp = tsub.add_parser(
        "import",
        help="ingest a recorded nof1 snapshot directory",
        description="Ingest DIR/<endpoint>.json (leaderboard, trades, account-totals, "
        "since-inception-values, conversations, analytics, crypto-prices) into the database "
        "of the config. Missing files are skipped; re-importing adds nothing.",
    )
    imp.add_argument("dir", metavar="DIR", help="snapshot directory")
    imp.add_argument("--config", help="config.toml (for the database path and [tracker])")
    imp.add_argument("--json", action="store_true", help="machine-readable summary")
    imp.set_defaults(func=_import)


def snapshot_time(directory: Path) -> str:
    """When the snapshot was taken: index.json's ``timestamp``, else the directory's name
    (``2025-10-28T065103Z``), else now. The leaderboard carries no time of its own."""
    candidates: list[str] = []
    index = directory / "index.json"
    if index.is_file():
        try:
            ts = json.loads(index.read_text(encoding="utf-8")).get("timestamp")
            if isinstance(ts, str):
                candidates.append(ts)
        except (ValueError, AttributeError, OSError):
            pass
    candidates.append(directory.name)
    for c in candidates:
        for fmt in ("%Y-%m-%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
            try:
                return utc_iso(datetime.strptime(c, fmt).replace(tzinfo=UTC))
            except ValueError:
                continue
    return utc_iso(datetime.now(UTC))


async def import_dir(
    settings: Settings,
    directory: Path,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Ingest every endpoint file of ``directory``; the summary says what each one added.
    ``progress(done, total)`` after each endpoint file (of those present)."""
    path = settings.daemon.db_path
    await migrate(path)
    writer = StoreWriter(path)
    await writer.start()

    async def emit(
        level: str, category: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        """Like EventLog.emit, but a command's stdout is its output: problems go to stderr."""
        if level in ("warning", "error"):
            print(f"arenad: {message}", file=sys.stderr)
        await writer.submit(
            INSERT_EVENT,
            (
                utc_iso(datetime.now(UTC)),
                level,
                category,
                message,
                json.dumps(details or {}, default=str),
            ),
        )

    store = TrackerStore(writer, lambda: settings.tracker, lambda: fade_bot_refs(settings.fade))
    fetched_at = snapshot_time(directory)
    summary: dict[str, Any] = {
        "dir": str(directory),
        "snapshot_time": fetched_at,
        "endpoints": {},
        "failed": {},
        "missing": [],
    }
    present = sum((directory / f"{e}.json").is_file() for e in ENDPOINTS)
    done = 0
    try:
        for endpoint in ENDPOINTS:
            f = directory / f"{endpoint}.json"
            if not f.is_file():
                summary["missing"].append(endpoint)
                continue
            if progress is not None:
                progress(done, present)
            done += 1
            try:
                report = await ingest_body(store, emit, endpoint, f.read_bytes(), fetched_at)
            except ResponseError as e:
                summary["failed"][endpoint] = e.reason
                await emit(
                    "error",
                    "tracker",
                    f"nof1 import {f}: {e.reason}",
                    {"endpoint": endpoint, "file": str(f)},
                )
                continue
            summary["endpoints"][endpoint] = {
                "rows": report.rows,
                "skipped": report.skipped,
                "inserted": report.inserted,
            }
        if progress is not None:
            progress(done, present)
        await emit(
            "info",
            "tracker",
            f"nof1 snapshot imported from {directory}",
            {k: v for k, v in summary.items() if k != "dir"},
        )
    finally:
        await writer.close()
    return summary


def _import(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import load_config

    directory = Path(args.dir)
    if not directory.is_dir():
        print(f"arenad: {directory}: not a directory", file=sys.stderr)
        return 2
    if not any((directory / f"{e}.json").is_file() for e in ENDPOINTS):
        print(
            f"arenad: {directory}: no nof1 endpoint file (expected one of "
            f"{', '.join(e + '.json' for e in ENDPOINTS)})",
            file=sys.stderr,
        )
        return 2
    loaded = load_config(args)
    if loaded is None:
        return 2
    from arenad.progress import Progress

    with Progress(f"import {directory.name}", "files", enabled=not args.json) as bar:
        summary = asyncio.run(import_dir(loaded.settings, directory, bar.update))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for ep, r in summary["endpoints"].items():
            added = ", ".join(f"{t} +{n}" for t, n in sorted(r["inserted"].items()))
            added = added or "nothing new"
            skipped = f", {r['skipped']} rows skipped" if r["skipped"] else ""
            print(f"{ep}: {r['rows']} rows{skipped}: {added}")
        for ep in summary["missing"]:
            print(f"{ep}: no file")
        for ep, why in summary["failed"].items():
            print(f"{ep}: FAILED: {why}", file=sys.stderr)
    return 1 if summary["failed"] else 0
