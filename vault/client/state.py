"""The client's own state: the session token and pinned public keys.

Kept in the user's config folder (or VAULT_CLIENT_HOME), readable by the
user only. Private keys are never stored: they are re-opened from the
password when needed, so a seized laptop holds nothing usable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click


class KeyChanged(Exception):
    """A colleague's key differs from the one pinned on first use."""


def home(base: Path | None = None) -> Path:
    base = base or os.environ.get("VAULT_CLIENT_HOME") or click.get_app_dir("evidence-vault")
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True, mode=0o700)
    return p


def _server_key(url: str) -> str:
    return url.rstrip("/")


def _load(name: str, base: Path | None = None) -> dict:
    p = home(base) / name
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except ValueError:
        return {}


def _save(name: str, data: dict, base: Path | None = None) -> None:
    p = home(base) / name
    tmp = p.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def save_session(url: str, username: str, token: str, expires_at: str, base: Path | None = None) -> None:
    data = _load("sessions.json", base)
    data[_server_key(url)] = {"username": username, "token": token, "expires_at": expires_at}
    _save("sessions.json", data, base)


def load_session(url: str, base: Path | None = None) -> dict | None:
    return _load("sessions.json", base).get(_server_key(url))


def clear_session(url: str, base: Path | None = None) -> None:
    data = _load("sessions.json", base)
    data.pop(_server_key(url), None)
    _save("sessions.json", data, base)


def pin(url: str, who: str, box_public: str, sign_public: str, accept_change: bool = False, base: Path | None = None) -> bool:
    """Pin `who`'s keys on first use. Returns True if newly pinned.

    Raises KeyChanged if different keys were pinned before and the user did
    not accept the change (`vault keys accept WHO`).
    """
    data = _load("pins.json", base)
    server = data.setdefault(_server_key(url), {})
    entry = {"box_public": box_public, "sign_public": sign_public}
    known = server.get(who)
    if known is None:
        server[who] = {"current": entry, "previous": []}
        _save("pins.json", data, base)
        return True
    if known["current"] == entry:
        return False
    if not accept_change:
        raise KeyChanged(who)
    known["previous"].append(known["current"])
    known["current"] = entry
    _save("pins.json", data, base)
    return False


def verify_pin(url: str, who: str, box_public: str, sign_public: str, how: str, base: Path | None = None) -> None:
    """Record that `who`'s keys were verified (by a certificate chain, or compared in person)."""
    data = _load("pins.json", base)
    server = data.setdefault(_server_key(url), {})
    entry = {"box_public": box_public, "sign_public": sign_public}
    known = server.get(who)
    if known is None:
        known = server[who] = {"current": entry, "previous": []}
    elif known["current"] != entry:
        known["previous"].append(known["current"])
        known["current"] = entry
    known.setdefault("verified", {})[sign_public] = how
    _save("pins.json", data, base)


def pinned_sign_keys(url: str, base: Path | None = None) -> dict[str, str]:
    """Every signing key this client has verified (never one merely seen), mapped to its owner."""
    out = {}
    for who, e in _load("pins.json", base).get(_server_key(url), {}).items():
        if who.startswith("@"):
            continue
        for k in [e["current"], *e["previous"]]:
            if k["sign_public"] in e.get("verified", {}):
                out[k["sign_public"]] = who
    return out


def verified_how(url: str, who: str, box_public: str, sign_public: str, base: Path | None = None) -> str | None:
    """How `who`'s current keys were verified, if they are these keys and were verified at all."""
    e = _load("pins.json", base).get(_server_key(url), {}).get(who)
    if not e or e["current"] != {"box_public": box_public, "sign_public": sign_public}:
        return None
    return e.get("verified", {}).get(sign_public)


def pin_org(url: str, recovery_public: str, root_sign_public: str, inviter_fingerprint: str | None,
            base: Path | None = None) -> None:
    """The organisation this client trusts on this server: pinned once, from what a person handed over."""
    data = _load("pins.json", base)
    data.setdefault(_server_key(url), {})["@org"] = {
        "recovery_public": recovery_public, "root_sign_public": root_sign_public,
        "inviter_fingerprint": inviter_fingerprint}
    _save("pins.json", data, base)


def pinned_org(url: str, base: Path | None = None) -> dict | None:
    return _load("pins.json", base).get(_server_key(url), {}).get("@org")


def chain_point(url: str, case_id: str, base: Path | None = None) -> dict | None:
    """How far this client has verified a case's membership chain: {"seq", "head"}."""
    return _load("chains.json", base).get(_server_key(url), {}).get(case_id)


def save_chain_point(url: str, case_id: str, seq: int, head: str, base: Path | None = None) -> None:
    data = _load("chains.json", base)
    data.setdefault(_server_key(url), {})[case_id] = {"seq": seq, "head": head}
    _save("chains.json", data, base)


def pinned(url: str, who: str, base: Path | None = None) -> dict | None:
    e = _load("pins.json", base).get(_server_key(url), {}).get(who)
    return e["current"] if e else None
