"""Who a nof1 model is, and which book its curve, round trips and decisions go to.

The API names models only by id. Display names and providers of the season-1 models are
built in (config `[[tracker.models]]` overrides them and adds wallets, which the API does not
publish). The book rule, shared with the fade engine (/work/notes/fade-contract.md, "tracker"):

* a model whose configured wallet equals the wallet of a `[[fade.bots]]` entry is that bot:
  its book is the bot's, ``bot:<bot id>`` — the same account seen from two sides, so the bot's
  reasoning (chats) and the fade of it key on one book (there the tracker writes decisions
  only; the fade engine writes the curve and round trips from the wallet's own fills);
* nof1's own buy-and-hold benchmark (``buynhold_*``) is ``benchmark:nof1-<model id>``;
* any other model is ``bot:nof1-<model id>`` (a book of its own, never colliding with a fade
  bot that happens to share the id but trades another wallet, e.g. a simulator wallet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from arenad.tracker.settings import TrackerModelSettings

# model id → (display name, provider), season 1.
KNOWN_MODELS: dict[str, tuple[str, str]] = {
    "gpt-5": ("GPT-5", "OpenAI"),
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", "Anthropic"),
    "gemini-2.5-pro": ("Gemini 2.5 Pro", "Google"),
    "grok-4": ("Grok 4", "xAI"),
    "deepseek-chat-v3.1": ("DeepSeek V3.1", "DeepSeek"),
    "qwen3-max": ("Qwen3 Max", "Alibaba"),
    "buynhold_btc": ("BTC Buy & Hold", "nof1"),
}


@dataclass(frozen=True, slots=True)
class FadeBotRef:
    """The two facts the tracker needs of a configured fade bot."""

    bot_id: str
    wallet: str | None


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    model_id: str
    name: str
    provider: str | None
    wallet: str | None
    active: bool
    book_id: str
    kind: str  # books.kind: 'bot' or 'benchmark'
    fade_bot_id: str | None  # set when the book is a fade bot's


def is_benchmark(model_id: str) -> bool:
    return model_id.startswith("buynhold")


def book_for(
    model_id: str, wallet: str | None, fade_bots: Sequence[FadeBotRef]
) -> tuple[str, str | None]:
    """(book id, fade bot id or None) by the rule in the module docstring."""
    if wallet:
        w = wallet.lower()
        for b in fade_bots:
            if b.wallet and b.wallet.lower() == w:
                return f"bot:{b.bot_id}", b.bot_id
    if is_benchmark(model_id):
        return f"benchmark:nof1-{model_id}", None
    return f"bot:nof1-{model_id}", None


def identify(
    model_id: str, configured: Iterable[TrackerModelSettings], fade_bots: Sequence[FadeBotRef]
) -> ModelIdentity:
    cfg = next((m for m in configured if m.model_id == model_id), None)
    known = KNOWN_MODELS.get(model_id)
    name = (cfg.name if cfg and cfg.name else None) or (known[0] if known else model_id)
    provider = (cfg.provider if cfg and cfg.provider else None) or (known[1] if known else None)
    wallet = cfg.wallet if cfg else None
    book_id, bot_id = book_for(model_id, wallet, fade_bots)
    return ModelIdentity(
        model_id=model_id,
        name=name,
        provider=provider,
        wallet=wallet,
        active=cfg.active if cfg else True,
        book_id=book_id,
        kind="benchmark" if book_id.startswith("benchmark:") else "bot",
        fade_bot_id=bot_id,
    )


def fade_bot_refs(fade_settings: Any) -> list[FadeBotRef]:
    """The `[[fade.bots]]` entries as (bot id, wallet). Read by attribute so the tracker does
    not depend on the fade settings' exact model: a bot's id is its ``bot_id``, ``id`` or
    ``name`` field, its wallet the ``wallet`` field."""
    refs: list[FadeBotRef] = []
    for b in getattr(fade_settings, "bots", None) or []:
        bot_id = getattr(b, "bot_id", None) or getattr(b, "id", None) or getattr(b, "name", None)
        wallet = getattr(b, "wallet", None)
        if isinstance(bot_id, str) and bot_id:
            refs.append(FadeBotRef(bot_id, wallet if isinstance(wallet, str) else None))
    return refs
