"""Daemon-side subcommands: run, demo, config check, status/kill/resume/reload/events, db."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeAlias

from arenad.config.loader import LoadedConfig, default_config_path, load_settings, read_toml
from arenad.config.settings import DaemonSettings
from arenad.control.client import ControlClient, ControlError, DaemonNotRunning
from arenad.errors import ConfigError, StoreError
from arenad.store.db import create_private

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def load_config(args: argparse.Namespace) -> LoadedConfig | None:
    """Settings from `--config` (or the default), printing each problem; None when invalid."""
    try:
        return load_settings(Path(args.config) if getattr(args, "config", None) else None)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return None


def _config_check(args: argparse.Namespace) -> int:
    try:
        path = args.path or args.config
        loaded = load_settings(Path(path) if path else None)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    print(f"{loaded.path}: ok")
    return 0


def _run(args: argparse.Namespace) -> int:
    from arenad.daemon.app import LiveNotAllowed, check_live, run_blocking

    loaded = load_config(args)
    if loaded is None:
        return 2
    try:
        check_live(loaded.settings, args.live)
    except LiveNotAllowed as e:
        print(f"arenad: refusing to start: {e}", file=sys.stderr)
        return 2
    try:
        return run_blocking(loaded, allow_live=args.live)
    except StoreError as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    from arenad.daemon.demo import run_demo

    loaded = load_config(args)
    if loaded is None:
        return 2
    return run_demo(loaded, headless=args.headless, duration=args.duration)


def socket_path(args: argparse.Namespace) -> Path:
    """The control socket, even when the config file is broken mid-edit.

    The kill switch must stay reachable: a config that fails validation is read leniently for
    `daemon.socket_path` alone (with a warning), falling back to the default.
    """
    if getattr(args, "socket", None):
        return Path(args.socket)
    path = Path(args.config) if getattr(args, "config", None) else default_config_path()
    try:
        return load_settings(path).settings.daemon.socket_path
    except ConfigError as e:
        print(
            f"arenad: warning: {path} has problems ({e.problems[0]}); "
            "reading only daemon.socket_path from it",
            file=sys.stderr,
        )
    try:
        raw = read_toml(path).get("daemon", {}).get("socket_path")
    except ConfigError:  # not even TOML: look for the one line we need
        m = re.search(
            r"""^\s*socket_path\s*=\s*["']([^"']+)["']""",
            path.read_text(errors="replace") if path.exists() else "",
            re.M,
        )
        raw = m.group(1) if m else None
    sock = Path(raw) if isinstance(raw, str) else DaemonSettings().socket_path
    return sock if sock.is_absolute() else path.resolve().parent / sock


def client_call(args: argparse.Namespace, fn: Callable[[ControlClient], Awaitable[Any]]) -> int:
    sock = socket_path(args)

    async def go() -> Any:
        async with ControlClient(sock) as client:
            return await fn(client)

    try:
        result = asyncio.run(go())
    except DaemonNotRunning as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 1
    except ControlError as e:
        print(f"arenad: the daemon refused: {e.message}", file=sys.stderr)
        return 2 if e.code in ("invalid_args", "bad_request", "unknown_command") else 1
    return int(result) if isinstance(result, int) else 0


def _print_status(st: dict[str, Any]) -> None:
    k = st["kill_switch"]
    print(f"arenad {st['version']}  pid {st['pid']}  mode {st['mode']}  up {st['uptime_s']:.0f}s")
    storage = st.get("storage") or {}
    if not storage.get("ok", True):
        print(f"STORAGE FAILURE since {storage.get('since')}: {storage.get('error')}")
    elif storage.get("disk_low"):
        print(f"DISK SPACE LOW: {storage['disk_low']}")
    if (st.get("watchdog") or {}).get("withheld_since"):
        print(
            f"STORE WRITER WEDGED since {st['watchdog']['withheld_since']}: the systemd "
            "watchdog ping is withheld"
        )
    if k["engaged"]:
        print(f"KILL SWITCH ENGAGED by {k['by']} at {k['activated_at']}: {k['reason']}")
        if k.get("persisted") is False:
            print("  (held in memory only: the database write is being retried)")
    for name, v in sorted((st.get("venues") or {}).items()):
        if v.get("state") == "waiting":
            print(
                f"WAITING FOR VENUE {name} since {v['since']}: {v['reason']} "
                f"(trading on {name} held; kill switch after {v['grace_s']:g}s)"
            )
    for d in (st.get("account_drift") or {}).get("open", []):
        print(
            f"ACCOUNT DRIFT in {d['coin']}: books {d['ours']}, venue {d['venue']}"
            f" (since {d['detected_at']}; cause: {d['cause'] or 'unknown'})"
            + (f"; trading {d['trading_state']}" if d["trading_state"] else "")
            + ("; agrees again" if d["cleared_at"] else "")
            + "  - `arenad ack-drift` to acknowledge"
        )
    print(
        f"trading state: {st['trading_state']}   day P&L: {st['daily_pnl']:.2f} USD"
        + (f" (limit -{st['daily_loss_limit_usd']:.2f})" if st["daily_loss_limit_usd"] else "")
    )
    for name, c in sorted(st["connections"].items()):
        print(
            f"  {name}: {'connected' if c.get('connected') else 'DISCONNECTED'}"
            + (f" ({c['mode']})" if c.get("mode") else "")
        )
    print(
        f"last event {st['last_event_time'] or '-'}   last order {st['last_order_time'] or '-'}"
        f"   loop lag {st['loop_lag_ms']:.1f} ms"
    )
    for name, t in sorted(st["tasks"].items()):
        err = f"  last error: {t['last_error']}" if t["last_error"] else ""
        print(f"  task {name}: {t['state']} (restarts {t['restarts']}){err}")


def _status(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> None:
        st = await c.request("status")
        if args.json:
            print(json.dumps(st, indent=2))
        else:
            _print_status(st)

    return client_call(args, fn)


def _ack_drift(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> None:
        params: dict[str, Any] = {"resync": args.resync}
        if args.book_id:
            params["book_id"] = args.book_id
        r = await c.request("fade.ack_drift", **params)
        if args.json:
            print(json.dumps(r, indent=2))
            return
        for d in r["acknowledged"]:
            print(f"acknowledged: {d['coin']} books {d['ours']}, venue {d['venue']}")
        for x in r["corrections"]:
            print(f"  corrected: {json.dumps(x)}")
        print(f"trading state {r['trading_state']}")

    return client_call(args, fn)


def _kill(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> None:
        st = await c.request("kill", reason=args.reason)
        print(f"kill switch engaged: {st['kill_switch']['reason']}")

    return client_call(args, fn)


def _resume(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> None:
        await c.request("resume")
        print("kill switch released; trading state " + (await c.request("status"))["trading_state"])

    return client_call(args, fn)


def _reload(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> int:
        r = await c.request("reload")
        if args.json:
            print(json.dumps(r, indent=2))
        elif r["ok"]:
            print(f"reloaded: {len(r['changes'])} key(s) changed")
            for key, ch in r["changes"].items():
                print(f"  {key}: {ch['old']!r} -> {ch['new']!r}")
            for key in r["restart_required"]:
                print(f"  {key}: changed in the file; takes effect after a restart")
        else:
            for p in r["problems"]:
                print(p, file=sys.stderr)
        return 0 if r["ok"] else 2

    return client_call(args, fn)


def _events(args: argparse.Namespace) -> int:
    async def fn(c: ControlClient) -> None:
        q = {
            k: v
            for k, v in {
                "level": args.level,
                "category": args.category,
                "since": args.since,
                "search": args.search,
                "limit": args.limit,
            }.items()
            if v is not None
        }
        rows = await c.request("events", **q)
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        for r in rows:
            print(f"{r['ts']} {r['level']:<7} {r['category']:<8} {r['message']}")

    return client_call(args, fn)


def _db(args: argparse.Namespace) -> int:
    loaded = load_config(args)
    if loaded is None:
        return 2
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(f"arenad: no database at {path}", file=sys.stderr)
        return 1
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    try:
        if args.db_command == "backup":
            dest = Path(args.dest)
            if dest.exists():
                print(f"arenad: {dest} exists; refusing to overwrite it", file=sys.stderr)
                return 2
            create_private(dest)  # owner-only like the database, whatever the umask
            with sqlite3.connect(dest) as out:
                conn.backup(out)  # online: consistent even while the daemon writes
            ok = sqlite3.connect(dest).execute("PRAGMA integrity_check").fetchone()[0]
            print(f"backed up {path} to {dest} (integrity: {ok})")
            return 0 if ok == "ok" else 1
        if args.db_command == "vacuum":
            conn.execute("VACUUM")
            print(f"vacuumed {path}")
        elif args.db_command == "analyze":
            conn.execute("ANALYZE")
            conn.execute("PRAGMA optimize")
            print(f"analyzed {path}")
        return 0
    except sqlite3.Error as e:
        print(f"arenad: {args.db_command} failed: {e}", file=sys.stderr)
        return 1
    finally:
        conn.close()


def _with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    return p


def _client(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    _with_config(p)
    p.add_argument("--socket", metavar="PATH", help="control socket (default: from the config)")
    return p


def register(sub: Sub) -> None:
    run = _with_config(sub.add_parser("run", help="run the daemon in the foreground (systemd)"))
    run.add_argument(
        "--live", action="store_true", help='confirm live trading (needed with mode = "live")'
    )
    run.set_defaults(func=_run)

    demo = _with_config(sub.add_parser("demo", help="simulator + daemon (+ TUI), no keys needed"))
    demo.add_argument("--headless", action="store_true", help="no TUI")
    demo.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    demo.set_defaults(func=_demo)

    config = sub.add_parser("config", help="configuration tools")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    check = csub.add_parser("check", help="validate a config file (exit 0, or 2 with problems)")
    check.add_argument(
        "path", nargs="?", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    check.add_argument("--config", metavar="PATH", help="the same as PATH")
    check.set_defaults(func=_config_check)

    status = _client(sub.add_parser("status", help="daemon, kill switch and connections"))
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)
    kill = _client(sub.add_parser("kill", help="engage the kill switch"))
    kill.add_argument("--reason", default="engaged by operator from the command line")
    kill.set_defaults(func=_kill)
    _client(sub.add_parser("resume", help="release the kill switch")).set_defaults(func=_resume)
    ack = _client(
        sub.add_parser(
            "ack-drift", help="acknowledge a fade account drift (books vs venue) and resume"
        )
    )
    ack.add_argument(
        "--resync",
        action="store_true",
        help="make the account book equal the venue (re-book orders the venue filled; the "
        "rest on --book-id)",
    )
    ack.add_argument("--book-id", metavar="fade:ID", help="the fade book that takes a difference")
    ack.add_argument("--json", action="store_true")
    ack.set_defaults(func=_ack_drift)
    reload = _client(sub.add_parser("reload", help="re-read config.toml now"))
    reload.add_argument("--json", action="store_true")
    reload.set_defaults(func=_reload)
    ev = _client(sub.add_parser("events", help="system events"))
    ev.add_argument("--level", choices=("debug", "info", "warning", "error"))
    ev.add_argument("--category")
    ev.add_argument("--since", metavar="ISO_TIME")
    ev.add_argument("--search", metavar="TEXT")
    ev.add_argument("--limit", type=int, default=50)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=_events)

    db = sub.add_parser("db", help="database maintenance")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    backup = _with_config(dsub.add_parser("backup", help="online backup to PATH"))
    backup.add_argument("dest", metavar="PATH")
    backup.set_defaults(func=_db)
    _with_config(dsub.add_parser("vacuum", help="VACUUM the database")).set_defaults(func=_db)
    _with_config(dsub.add_parser("analyze", help="ANALYZE + optimize")).set_defaults(func=_db)
