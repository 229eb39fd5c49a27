"""What a secret looks like, and how to talk about a bad value without repeating it.

A `*_env` setting holds the *name* of an environment variable. An operator who pastes the key
itself there must get an error, and that error is written to the terminal, the log, the
database and the live event stream: it may never contain the value. ``describe`` gives the
length and the first two characters, enough to recognise what was pasted.
"""

from __future__ import annotations

import re

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")

# A 32-byte (or longer) hex key, with or without 0x; wallet addresses are 20 bytes.
_HEX_KEY = re.compile(r"^(0[xX])?[0-9a-fA-F]{64,}$")
# Prefixes of the API keys of common providers (OpenAI, Anthropic, Groq, xAI, Google, GitHub,
# Stripe-style), and an Authorization header value.
_KEY_PREFIX = re.compile(
    r"^(sk-|sk_|pk_|rk_|gsk_|xai-|AIza|ghp_|gho_|glpat-|hf_|Bearer\s)", re.IGNORECASE
)
# A long token of letters and digits only (Alpaca key ids are 20 upper-case characters):
# variable names are words joined by underscores, keys are not.
_TOKEN = re.compile(r"^[A-Za-z0-9+/=.\-]{16,}$")


def looks_like_secret(value: str) -> bool:
    v = value.strip()
    if _HEX_KEY.match(v) or _KEY_PREFIX.match(v):
        return True
    return bool(_TOKEN.match(v)) and any(c.isdigit() for c in v) and any(c.isalpha() for c in v)


def looks_like_api_key(value: str) -> bool:
    """Narrower than ``looks_like_secret``, for any setting: a hex key or a provider-prefixed
    key (a model name or a URL never looks like one)."""
    v = value.strip()
    return bool(_HEX_KEY.match(v)) or (bool(_KEY_PREFIX.match(v)) and len(v) >= 20)


def describe(value: str) -> str:
    """A value named without being repeated: its length and at most its first two characters."""
    head = value[:2] if len(value) > 4 else ""
    return f"{len(value)} characters" + (f" starting {head!r}" if head else "")


def env_name_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable environment-variable name, or None if it is."""
    if looks_like_secret(value):
        return (
            f"this looks like a secret itself ({describe(value)}), not the name of an "
            "environment variable: put the secret in a variable and write the variable's name "
            "here (e.g. MY_API_KEY)"
        )
    if not ENV_NAME.match(value):
        return (
            f"not an environment variable name ({describe(value)}): use upper-case letters, "
            "digits and underscores, not starting with a digit (e.g. MY_API_KEY)"
        )
    return None
