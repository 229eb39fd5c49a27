"""One notification URL through apprise: build it, send to it (blocking), say how it went.

apprise's ``notify()`` blocks on the network, so it is only ever called from a worker thread
(:class:`arenad.notify.service.Notifier` gives each channel one). Each call is bounded twice:
apprise's whole-call ``timeout`` (it returns TIMEOUT for a service that did not finish) and
the plugin's connect/read socket timeouts, so the thread itself comes back too and a hanging
receiver cannot pile threads up or hold the process at exit.

Nothing here logs: results go back to the notifier, which reports them as events through the
redactor. apprise's own logger has a NullHandler and arenad never configures stdlib logging,
so apprise messages (which may quote a URL) reach no log; the ones worth knowing (a warning
or error of the call) come back in :attr:`Delivery.detail`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from arenad.notify.notice import Notice
from arenad.notify.urls import label

SOCKET_MARGIN_S = 0.5


class InvalidURL(ValueError):
    """apprise does not recognise the URL (unknown scheme, missing token, ...)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    status: str
    """apprise's outcome: SUCCESS, FAILURE, TIMEOUT, NOMATCH (or ERROR: apprise raised)."""
    detail: str
    """apprise's warnings and errors of the call (unredacted: redact before showing)."""
    elapsed_s: float


def _notify_type(n: Notice) -> Any:
    from apprise import NotifyType

    if n.resolved:
        return NotifyType.SUCCESS
    return {"error": NotifyType.FAILURE, "warning": NotifyType.WARNING}.get(
        n.level, NotifyType.INFO
    )


class AppriseChannel:
    def __init__(self, url: str, timeout_s: float) -> None:
        import apprise

        self.label = label(url)
        self.timeout_s = timeout_s
        self._ap = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
        try:
            ok = self._ap.add(url)
        except Exception as e:  # apprise's parsers raise assorted errors on odd input
            raise InvalidURL(f"{self.label}: {type(e).__name__}") from None
        if not ok or len(self._ap) != 1:
            raise InvalidURL(f"{self.label}: not a URL apprise knows (scheme or parts wrong)")
        plugin = self._ap[0]
        self.service = str(getattr(plugin, "service_name", None) or self.label.split(":")[0])
        # A little longer than the call's own timeout: a hang is reported as TIMEOUT, and the
        # worker thread comes back soon after.
        plugin.socket_connect_timeout = timeout_s + SOCKET_MARGIN_S
        plugin.socket_read_timeout = timeout_s + SOCKET_MARGIN_S

    def send(self, title: str, body: str, notice: Notice | None = None) -> Delivery:
        """Deliver one message (blocks up to about ``timeout_s``; never raises)."""
        from apprise import NotifyFormat

        t0 = time.monotonic()
        try:
            result = self._ap.notify(
                body=body,
                title=title,
                notify_type=_notify_type(notice) if notice is not None else "info",
                body_format=NotifyFormat.TEXT,
                timeout=self.timeout_s,
            )
        except Exception as e:  # a plugin bug must not take the worker down
            return Delivery(False, "ERROR", type(e).__name__, time.monotonic() - t0)
        detail = "; ".join(dict.fromkeys(str(e.message).strip() for e in result.logs()))
        return Delivery(bool(result), result.status.name, detail, time.monotonic() - t0)
