"""Daemon-side subcommands: run, demo, config check, status/kill/resume/reload/events, db.

This module is imported for every `arenad` command, the emergency `arenad kill` included, so
it imports only the standard library at the top: the config loader (pydantic, and numpy
through the strategies settings), the control client (websockets) and the engines are
imported inside the commands that need them. `tests/cli/test_import_graph.py` holds this.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from datetime import datetime

    from arenad.config.loader import LoadedConfig
    from arenad.control.client import ControlClient

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

CONFIG_ENV = "ARENAD_CONFIG"  # as arenad.config.loader.CONFIG_ENV
SOCKET_ENV = "ARENAD_DAEMON__SOCKET_PATH"
DB_ENV = "ARENAD_DAEMON__DB_PATH"
DEFAULT_SOCKET = Path("var/arenad.sock")  # as DaemonSettings.socket_path (a test checks)
DEFAULT_DB = Path("var/arenad.db")
BACKUP_STEP_PAGES = 1024  # pages copied per step of `db backup` (4 MiB at 4 KiB pages)


def config_path(args: argparse.Namespace) -> tuple[Path, bool]:
    """The config file and whether it was named (`--config` or $ARENAD_CONFIG)."""
    if getattr(args, "config", None):
        return Path(args.config), True
    env = os.environ.get(CONFIG_ENV)
    return (Path(env), True) if env else (Path("config.toml"), False)


def _env(name: str) -> str | None:
    """An ARENAD_* variable as pydantic-settings reads it (names are case-insensitive)."""
    for k, v in os.environ.items():
        if k.upper() == name:
            return v
    return None


def load_config(args: argparse.Namespace, *, missing_ok: bool = False) -> LoadedConfig | None:
    """Settings from `--config` (or the default), printing each problem; None when invalid.

    ``missing_ok``: with no config file named and no ./config.toml, the defaults plus the
    environment (``ARENAD_DAEMON__DB_PATH`` …), paths relative to the working directory —
    what the client commands use, as the README promises any key can come from the
    environment."""
    from arenad.config.loader import LoadedConfig, load_settings
    from arenad.errors import ConfigError

    path, named = config_path(args)
    try:
        if missing_ok and not named and not path.exists():
            from arenad.config.loader import _resolve_paths
            from arenad.config.settings import build_settings

            base = Path.cwd()
            return LoadedConfig(_resolve_paths(build_settings({}), base), base / path, {})
        return load_settings(path if named else None)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return None


def _config_check(args: argparse.Namespace) -> int:
    from arenad.config.loader import load_settings
    from arenad.errors import ConfigError

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
    from arenad.errors import StoreError

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
    return run_demo(loaded, headless=args.headless, duration=args.duration, fresh=args.fresh)


def socket_path(args: argparse.Namespace) -> Path:
    """The control socket, found without validating the config (no pydantic, no numpy).

    The kill switch must stay reachable, and quickly: `--socket`, else
    $ARENAD_DAEMON__SOCKET_PATH, else `daemon.socket_path` of the config file (read as TOML
    only; even a file broken mid-edit is searched for that one line), else the default. A
    relative path is relative to the config file's directory (the working directory when
    there is no config file), as the daemon resolves it.
    """
    if getattr(args, "socket", None):
        return Path(args.socket)
    path, named = config_path(args)
    base = path.resolve().parent
    env = _env(SOCKET_ENV)
    if env:
        sock = Path(env)
        return sock if sock.is_absolute() else base / sock
    raw: object = None
    if path.exists():
        import tomllib

        try:
            raw = (
                tomllib.loads(path.read_text(encoding="utf-8")).get("daemon", {}).get("socket_path")
            )
        except (ValueError, OSError, AttributeError) as e:  # TOMLDecodeError is a ValueError
            print(
                f"arenad: warning: {path} is not valid TOML ({e}); reading only "
                "daemon.socket_path from it",
                file=sys.stderr,
            )
            m = re.search(
                r"""^\s*socket_path\s*=\s*["']([^"']+)["']""",
                path.read_text(errors="replace"),
                re.M,
            )
            raw = m.group(1) if m else None
    elif named:
        print(f"arenad: warning: {path}: file not found; using the default socket", file=sys.stderr)
    sock = Path(raw) if isinstance(raw, str) else DEFAULT_SOCKET
    return sock if sock.is_absolute() else base / sock


async def _call(sock: Path, fn: Callable[[ControlClient], Awaitable[Any]]) -> Any:
    from arenad.control.client import ControlClient

    async with ControlClient(sock) as client:
        return await fn(client)


def client_call(args: argparse.Namespace, fn: Callable[[ControlClient], Awaitable[Any]]) -> int:
    import asyncio

    from arenad.control.client import ControlError, DaemonNotRunning

    sock = socket_path(args)
    try:
        result = asyncio.run(_call(sock, fn))
    except DaemonNotRunning as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 1
    except ControlError as e:
        print(f"arenad: the daemon refused: {e.message}", file=sys.stderr)
        return 2 if e.code in ("invalid_args", "bad_request", "unknown_command") else 1
    return int(result) if isinstance(result, int) else 0


def daemon_answers(args: argparse.Namespace) -> bool:
    """Whether a daemon answers on the client socket (read commands then ask it, else they
    read the database)."""
    import asyncio

    from arenad.control.client import DaemonNotRunning

    async def probe(_c: ControlClient) -> bool:
        return True

    try:
        return bool(asyncio.run(_call(socket_path(args), probe)))
    except DaemonNotRunning:
        return False


def no_database(path: Path, args: argparse.Namespace) -> str:
    """`no database at …`, with a hint when a demo's database is what the user meant."""
    msg = f"arenad: no database at {path}"
    cfg, _ = config_path(args)
    demo = cfg.resolve().parent / "var" / "demo" / "arenad.db"
    if demo.exists() and demo != path:
        msg += (
            f"; `arenad demo` keeps its own database at {demo}: read it with "
            f"`{DB_ENV}={demo} arenad {getattr(args, 'command', '') or '...'}`"
            + (
                f", or ask the running demo with --socket {demo.parent / 'arenad.sock'}"
                if hasattr(args, "socket")
                else ""
            )
        )
    else:
        msg += " (start the daemon once, or set daemon.db_path)"
    return msg


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$", re.I)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: datetime | None = None) -> str:
    """`--since`: an ISO date or date-time (naive means UTC) or a time ago (`30m`, `1h`,
    `2d`, `1w`), as the database's timestamp format; argparse reports a bad value."""
    from datetime import UTC, datetime, timedelta

    t = text.strip()
    m = _RELATIVE.match(t)
    if m:
        when = (now or datetime.now(UTC)) - timedelta(
            seconds=float(m.group(1)) * _UNIT_S[m.group(2).lower()]
        )
    else:
        try:
            when = datetime.fromisoformat(t.replace("z", "Z"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is neither an ISO date/time (2026-12-01, 2026-12-01T18:00Z) nor "
                "a time ago (30m, 1h, 2d, 1w)"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def positive_int(hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= n <= hi:
            raise argparse.ArgumentTypeError(f"{n} is outside 1..{hi}")
        return n

    return parse


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
    else:
        print(
            "kill switch: off"
            + (f" (released {k['deactivated_at']})" if k.get("deactivated_at") else "")
        )
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
    """The emergency command: one request with the standard library alone
    (``arenad.control.quick``), no asyncio, no websockets library."""
    from arenad.control import quick

    sock = socket_path(args)
    try:
        st = quick.request(sock, "kill", reason=args.reason)
    except quick.NotRunning as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 1
    except quick.Refused as e:
        print(f"arenad: the daemon refused: {e.message}", file=sys.stderr)
        return 2 if e.code in ("invalid_args", "bad_request", "unknown_command") else 1
    print(f"kill switch engaged: {st['kill_switch']['reason']}")
    return 0


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
    import sqlite3

    from arenad.store.db import create_private

    loaded = load_config(args, missing_ok=True)
    if loaded is None:
        return 2
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(no_database(path, args), file=sys.stderr)
        return 1
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    try:
        if args.db_command == "backup":
            dest = Path(args.dest)
            if dest.exists():
                print(f"arenad: {dest} exists; refusing to overwrite it", file=sys.stderr)
                return 2
            from arenad.progress import Progress

            create_private(dest)  # owner-only like the database, whatever the umask
            with Progress(f"backup {path.name}", "pages") as bar, sqlite3.connect(dest) as out:
                # online: consistent even while the daemon writes; in steps, for the bar
                conn.backup(
                    out,
                    pages=BACKUP_STEP_PAGES,
                    progress=lambda _st, left, total: bar.update(total - left, total),
                )
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


JSON_HELP = "print machine-readable JSON instead of text"


def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    return p


def client(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`--config` and `--socket`, which every command that talks to the daemon takes."""
    with_config(p)
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="the daemon's control socket (default: $ARENAD_DAEMON__SOCKET_PATH, else "
        "daemon.socket_path of the config)",
    )
    return p


_with_config = with_config
_client = client


def register(sub: Sub) -> None:
    run = _with_config(sub.add_parser("run", help="run the daemon in the foreground (systemd)"))
    run.add_argument(
        "--live", action="store_true", help='confirm live trading (needed with mode = "live")'
    )
    run.set_defaults(func=_run)

    demo = _with_config(sub.add_parser("demo", help="simulator + daemon (+ TUI), no keys needed"))
    demo.add_argument("--headless", action="store_true", help="no TUI: the daemon's log to stderr")
    demo.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="start over: remove the demo's database and log under var/demo/ first",
    )
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
    status.add_argument("--json", action="store_true", help=JSON_HELP)
    status.set_defaults(func=_status)
    kill = _client(sub.add_parser("kill", help="engage the kill switch"))
    kill.add_argument(
        "--reason",
        default="engaged by operator from the command line",
        help="why (recorded with the kill switch and shown in status)",
    )
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
    ack.add_argument("--json", action="store_true", help=JSON_HELP)
    ack.set_defaults(func=_ack_drift)
    reload = _client(sub.add_parser("reload", help="re-read config.toml now"))
    reload.add_argument("--json", action="store_true", help=JSON_HELP)
    reload.set_defaults(func=_reload)
    ev = _client(sub.add_parser("events", help="system events, oldest first"))
    ev.add_argument(
        "--level",
        choices=("debug", "info", "warning", "error"),
        help="lowest level shown (default: all)",
    )
    ev.add_argument("--category", help="only this category (system, trading, config, ...)")
    ev.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="only events since WHEN: an ISO date or time (2026-12-01, 2026-12-01T18:00Z; "
        "naive is UTC) or a time ago (30m, 1h, 2d, 1w)",
    )
    ev.add_argument(
        "--search", metavar="TEXT", help="only events whose message or details hold TEXT"
    )
    ev.add_argument(
        "--limit", type=positive_int(10_000), default=50, metavar="N", help="most events (50)"
    )
    ev.add_argument("--json", action="store_true", help=JSON_HELP)
    ev.set_defaults(func=_events)

    db = sub.add_parser("db", help="database maintenance")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    backup = _with_config(dsub.add_parser("backup", help="online backup to PATH"))
    backup.add_argument("dest", metavar="PATH", help="the backup file to create (not overwritten)")
    backup.set_defaults(func=_db)
    _with_config(dsub.add_parser("vacuum", help="VACUUM the database")).set_defaults(func=_db)
    _with_config(dsub.add_parser("analyze", help="ANALYZE + optimize")).set_defaults(func=_db)
