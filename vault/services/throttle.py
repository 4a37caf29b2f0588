"""Sign-in throttling, and the pool the server's slow hashes run in.

Online guessing must be slow, yet a lock an attacker can trip is a way to
keep a colleague out. So every failed sign-in (and every wrong current
password a signed-in session gives) counts in four buckets of
`login_throttle`, each for `login_window_s`:

- the client address: after `login_address_max_failures` the address is
  locked (30 s, doubling to an hour) whatever names it tries — the sprayer
  who tries four passwords on every account;
- the name at that address: after `login_max_failures` that address may not
  try that name (30 s, doubling) — the guesser aiming at one account;
- the account from anywhere: past `login_account_max_failures` it is being
  guessed from many places, and each further failure holds its
  name-and-address for `login_slow_s`;
- the whole vault: past `login_global_max_failures` each failure holds its
  address for `login_slow_s`.

Nothing here locks an account as such. What an attacker's failures lock is
the attacker's own address; what they can make anyone else pay is a wait of
`login_slow_s` after a failure of that person's own. Only someone behind the
attacker's very address (the same NAT) shares the attacker's lock.

The buckets are keyed hashes (the server secret): the table holds no address
and no typed name, and an unknown name arrives already as its slow
`crypto.name_tag`. IPv4 addresses count one by one, IPv6 by their /64 (one
machine commonly holds a whole /64).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from vault import crypto
from vault.config import Config
from vault.db.models import LoginThrottle, utcnow
from vault.services.errors import Refused

GLOBAL = "global"
BUSY_RETRY_S = 2
_FIRST_LOCK_S, _MAX_LOCK_S = 30, 3600


@dataclass(frozen=True)
class Buckets:
    """Where one attempt counts: its address, its account (or unknown name), and the two together."""

    address: str
    account: str
    pair: str


def client_address(peer: str | None, forwarded_for: str | None, allow: str) -> str:
    """The client as the throttle counts it: the peer, or the nearest hop a trusted proxy vouches for.

    A proxy appends the address it saw to X-Forwarded-For, so the list is
    read from the right, and only while the hop that wrote it is trusted;
    what a client writes into the header itself is never believed.
    """
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    addr = peer or ""
    while hops and _trusted(addr, allow):
        addr = hops.pop()
    return _counted_as(addr)


def _trusted(addr: str, allow: str) -> bool:
    if not addr:
        return True  # a Unix socket: only a local proxy can be on the other end
    if allow.strip() == "*":
        return True
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in _networks(allow))


@functools.lru_cache(maxsize=8)
def _networks(allow: str) -> tuple:
    nets = []
    for part in allow.split(","):
        try:
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue  # not an address: trusts nothing
    return tuple(nets)


def _counted_as(addr: str) -> str:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:100] or "-"
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def buckets(server_secret: bytes, address: str, account: str) -> Buckets:
    """The buckets of an attempt from `address` (client_address) on `account` ("user:<id>" or "unknown:<tag>")."""
    return Buckets(address=address_bucket(server_secret, address), account=_key(server_secret, "acct", account),
                   pair=_key(server_secret, "pair", f"{account}\n{address}"))


def address_bucket(server_secret: bytes, address: str) -> str:
    """The address's bucket alone: what is checked before any slow work."""
    return _key(server_secret, "addr", address)


def _key(server_secret: bytes, kind: str, value: str) -> str:
    return kind + ":" + crypto.blake2b_keyed(server_secret, b"vault-throttle", f"{kind}\n{value}".encode(),
                                             size=16).hex()


def wait(s: Session, keys: list[str]) -> int | None:
    """Seconds until every bucket of `keys` is open again, or None if they all are."""
    now = utcnow()
    until = [r.locked_until for r in (s.get(LoginThrottle, k) for k in keys)
             if r is not None and r.locked_until is not None and r.locked_until > now]
    return max(1, math.ceil((max(until) - now).total_seconds())) if until else None


def too_many(seconds: int) -> Refused:
    """The one answer for every bucket, so it tells nothing about which name exists."""
    return Refused(429, "too_many_attempts", f"Too many failed attempts from this address or for this name. "
                   f"Wait {seconds} seconds and try again.", retry_after=seconds)


def record_failure(s: Session, cfg: Config, b: Buckets) -> None:
    """Count a failed attempt in all four buckets, and lock or hold what it has earned."""
    now = _begin(s, cfg, b)
    overall = _count(s, cfg, GLOBAL, now)
    account = _count(s, cfg, b.account, now)
    pair = _count(s, cfg, b.pair, now)
    address = _count(s, cfg, b.address, now)
    _back_off(pair, cfg.login_max_failures, now)
    _back_off(address, cfg.login_address_max_failures, now)
    slow = now + timedelta(seconds=cfg.login_slow_s)
    if account.failures > cfg.login_account_max_failures:
        _hold(pair, slow)
    if overall.failures > cfg.login_global_max_failures:
        _hold(address, slow)


def record_refusal(s: Session, cfg: Config, b: Buckets) -> None:
    """An attempt refused after its slow hash was spent counts against its address,
    so hammering a locked name soon meets the address's lock, which costs nothing to check."""
    now = _begin(s, cfg, b)
    _back_off(_count(s, cfg, b.address, now), cfg.login_address_max_failures, now)


def record_success(s: Session, b: Buckets) -> None:
    """The person proved themselves from here: their own mistypes are forgiven.

    The address and the account keep their counts: a guesser with one valid
    account must not be able to wipe the address's record by signing in.
    """
    s.execute(delete(LoginThrottle).where(LoginThrottle.bucket == b.pair))


def _begin(s: Session, cfg: Config, b: Buckets) -> datetime:
    if s.get_bind().dialect.name == "postgresql":
        # Concurrent failures update the same rows (the global one always):
        # serialise them, as the audit log does (SQLite's BEGIN IMMEDIATE already does).
        s.execute(text("SELECT pg_advisory_xact_lock(7312)"))
    now = utcnow()
    # Finished windows go, so made-up names and addresses cannot grow the table without bound.
    s.execute(delete(LoginThrottle).where(
        LoginThrottle.window_start < now - timedelta(seconds=cfg.login_window_s + 3600),
        LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until < now),
        LoginThrottle.bucket.notin_([GLOBAL, b.address, b.account, b.pair])).execution_options(
        synchronize_session=False))
    return now


def _count(s: Session, cfg: Config, key: str, now: datetime) -> LoginThrottle:
    # Read again under the lock: a copy loaded by wait() may be stale by now.
    row = s.get(LoginThrottle, key, populate_existing=True)
    if row is None:
        row = LoginThrottle(bucket=key, failures=0, window_start=now)
        s.add(row)
    elif (now - row.window_start).total_seconds() > cfg.login_window_s:
        row.failures, row.window_start = 0, now
    row.failures += 1
    return row


def _back_off(row: LoginThrottle, limit: int, now: datetime) -> None:
    if row.failures >= limit:
        # 30 s, 60 s, 120 s … capped at an hour.
        _hold(row, now + timedelta(seconds=min(_MAX_LOCK_S, _FIRST_LOCK_S * 2 ** min(row.failures - limit, 20))))


def _hold(row: LoginThrottle, until: datetime) -> None:
    if row.locked_until is None or row.locked_until < until:
        row.locked_until = until


# ---------------------------------------------------------------- the pool of slow hashes

_pools: dict[int, threading.BoundedSemaphore] = {}
_pools_lock = threading.Lock()


@contextmanager
def slow_hash_slot(cfg: Config) -> Iterator[None]:
    """Hold one of this worker's `login_hash_slots` for a slow hash; 503 if none frees within login_hash_wait_s.

    Each hash takes auth_hash_mem (64 MiB): a threaded server flooded with
    sign-ins would otherwise run as many at once as it has threads. A sync
    gunicorn worker serves one request at a time, so there it never waits.
    """
    with _pools_lock:
        pool = _pools.setdefault(cfg.login_hash_slots, threading.BoundedSemaphore(max(1, cfg.login_hash_slots)))
    if not pool.acquire(timeout=max(0, cfg.login_hash_wait_s)):
        raise Refused(503, "busy", f"The server is busy with other sign-ins. Wait {BUSY_RETRY_S} seconds and "
                      "try again.", retry_after=BUSY_RETRY_S)
    try:
        yield
    finally:
        pool.release()
