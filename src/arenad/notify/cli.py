"""`arenad notify test`: send a test message to every configured URL and print each result.

It runs in the command's own process (no daemon needed) with the same settings, variable and
apprise channels the daemon uses. Exit 0: every URL took the message; 1: at least one did not;
2: bad config, no URL configured, or a URL apprise does not accept. Channels are printed by
their redacted label (scheme and host), never the URL.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from arenad.logs import Redactor

if TYPE_CHECKING:
    from arenad.daemon.cli import Sub


def _test(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import load_config
    from arenad.notify.component import build_channels
    from arenad.notify.urls import secrets_of, split_urls

    loaded = load_config(args)
    if loaded is None:
        return 2
    st = loaded.settings.notify
    if not st.urls_env:
        print(
            f"arenad: no notification URLs: [notify] urls_env is not set in {loaded.path}",
            file=sys.stderr,
        )
        return 2
    value = os.environ.get(st.urls_env, "")
    if not split_urls(value):
        print(f"arenad: no notification URLs: ${st.urls_env} is not set or empty", file=sys.stderr)
        return 2
    redactor = Redactor(secrets_of(value))
    channels, bad = build_channels(value, args.timeout or st.timeout_s)
    for _label, why in bad:
        print(f"INVALID {why}", file=sys.stderr)
    if bad:
        print(f"arenad: fix the URL(s) in ${st.urls_env}; nothing was sent", file=sys.stderr)
        return 2
    title = "arenad: test notification"
    body = (
        f"A test from `arenad notify test` on {socket.gethostname()}. If you read this, "
        "arenad's notifications reach you here."
    )
    # Every channel at once: one that hangs does not hold the others up.
    with ThreadPoolExecutor(max_workers=len(channels)) as pool:
        results = list(pool.map(lambda ch: ch.send(title, body), channels))
    failed = 0
    for ch, d in zip(channels, results, strict=True):
        detail = redactor.redact_text(d.detail)
        if d.ok:
            print(f"ok      {ch.label} ({ch.service}) in {d.elapsed_s:.2f} s")
        else:
            failed += 1
            print(
                f"FAILED  {ch.label} ({ch.service}): {d.status}" + (f": {detail}" if detail else "")
            )
    print(f"{len(channels) - failed} of {len(channels)} delivered")
    return 1 if failed else 0


def register(sub: Sub) -> None:
    from arenad.daemon.cli import _with_config

    p = sub.add_parser("notify", help="notifications (Telegram, ntfy, ... via apprise URLs)")
    nsub = p.add_subparsers(dest="notify_command", metavar="ACTION")
    nsub.required = True
    test = _with_config(
        nsub.add_parser(
            "test",
            help="send a test message to every URL in [notify] urls_env "
            "(exit 0 all delivered, 1 some failed, 2 bad config or no URLs)",
        )
    )
    test.add_argument(
        "--timeout", type=float, metavar="S", help="per-URL timeout (default: [notify] timeout_s)"
    )
    test.set_defaults(func=_test)
