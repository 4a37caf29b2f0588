"""Trust from people: certificates to the organisation root and each case's membership chain.

Both are *signed statements*: ``{"kind", "payload", "signer", "signature"}``
where ``payload`` is JSON text, kept exactly as signed, and the signature
covers ``crypto.statement_message(kind, payload)``. Nothing is
canonicalised, so the browser (vault/static/js/trust.js) and this module
check the same bytes. The formats are in docs/trust.md.

The server stores and relays these statements; it cannot make one, because
it holds no key that a client accepts. A client trusts a colleague's keys
only through a certificate chain ending at the root it pinned at
registration (or after comparing fingerprints in person), and derives a
case's members and current key version only from the case's chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from vault import crypto, jsonlimits
from vault.crypto import b64d, b64e

CERT = "cert"
ENTRY = "case-entry"
MAX_PAYLOAD = 16384  # characters; a certificate or an entry is well under 1,000
MAX_CHAIN = 4  # root -> admin -> (admin ->) user: more is a sign of something odd
READER_ROLES = ("lawyer", "medic")
ROLES = ("admin", "lawyer", "medic")


KeysOf = Callable[[str], set[str]]


class TrustFailure(Exception):
    """A certificate or a membership entry does not verify; the message says which and why."""


# ---------------------------------------------------------------- signed statements


def make_statement(kind: str, body: dict, sign_seed: bytes) -> dict:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signature = crypto.sign_detached(sign_seed, crypto.statement_message(kind, payload))
    return {"kind": kind, "payload": payload, "signer": b64e(crypto.sign_public_from_seed(sign_seed)),
            "signature": b64e(signature)}


def open_statement(statement: object, kind: str) -> tuple[dict, bytes]:
    """The verified body of a statement and its signer's public key; TrustFailure otherwise."""
    if not isinstance(statement, dict) or statement.get("kind") != kind:
        raise TrustFailure(f"not a {kind} statement")
    try:
        payload = statement["payload"]
        signer = b64d(statement["signer"])
        signature = b64d(statement["signature"])
        if not isinstance(payload, str) or len(signer) != 32 or len(signature) != 64 or len(payload) > MAX_PAYLOAD:
            raise ValueError("malformed")
        crypto.verify_detached(signer, crypto.statement_message(kind, payload), signature)
        # Anyone can sign a payload nested thousands deep: parse within limits, never to a RecursionError.
        body = jsonlimits.loads(payload, max_bytes=MAX_PAYLOAD, max_depth=8)
    except (KeyError, TypeError, ValueError, crypto.BadSignature) as exc:
        raise TrustFailure(f"a {kind} statement is malformed or its signature does not verify") from exc
    if not isinstance(body, dict) or body.get("kind") != kind or body.get("v") != 1:
        raise TrustFailure(f"a {kind} statement has an unknown format")
    return body, signer


def statement_id(statement: dict) -> str:
    return crypto.statement_hash(b64d(statement["signature"]), statement["payload"])


# ---------------------------------------------------------------- the organisation root


@dataclass(frozen=True)
class Organisation:
    """What a client pins at registration: the recovery key and the root, under one fingerprint."""

    recovery_public: bytes
    root_sign_public: bytes

    @property
    def id(self) -> str:
        return b64e(self.root_sign_public)

    @property
    def fingerprint(self) -> str:
        return crypto.org_fingerprint(self.recovery_public, self.root_sign_public)


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certified:
    """A user's keys as a verified certificate chain states them."""

    user_id: str
    username: str
    role: str
    box_public: bytes
    sign_public: bytes
    may_certify: bool
    issuer: bytes  # the sign key that signed this certificate
    path: tuple[str, ...] = ()  # the usernames from the user up to (not including) the root

    @property
    def fingerprint(self) -> str:
        return crypto.fingerprint(self.box_public, self.sign_public)


def certify(sign_seed: bytes, org: Organisation, user_id: str, username: str, role: str,
            box_public: bytes, sign_public: bytes, issued_at: str) -> dict:
    """A certificate for a user's keys, signed by an admin (or the root, for an admin)."""
    if role not in ROLES:
        raise TrustFailure(f"unknown role {role}")
    return make_statement(CERT, {
        "v": 1, "kind": CERT, "org": org.id, "user_id": user_id, "username": username, "role": role,
        "box_public": b64e(box_public), "sign_public": b64e(sign_public), "may_certify": role == "admin",
        "issued_at": issued_at}, sign_seed)


def _certified(body: dict, issuer: bytes) -> Certified:
    try:
        out = Certified(body["user_id"], body["username"], body["role"], b64d(body["box_public"]),
                        b64d(body["sign_public"]), body["may_certify"] is True, issuer)
    except (KeyError, TypeError, ValueError) as exc:
        raise TrustFailure("a certificate lacks a field") from exc
    if out.role not in ROLES or len(out.box_public) != 32 or len(out.sign_public) != 32:
        raise TrustFailure("a certificate has a malformed key or role")
    return out


def verify_chain(certificates: list, org: Organisation) -> Certified:
    """Verify [user's certificate, its issuer's, ...] up to the pinned root; the user as certified.

    Each issuer must hold a certificate that lets it certify (an admin's),
    and every certificate must name this organisation.
    """
    if not isinstance(certificates, list) or not certificates:
        raise TrustFailure("no certificate: this person's keys have not been certified by an admin")
    if len(certificates) > MAX_CHAIN:
        raise TrustFailure("the certificate chain is too long")
    opened = []
    for cert in certificates:
        body, issuer = open_statement(cert, CERT)
        if body.get("org") != org.id:
            raise TrustFailure("a certificate belongs to another organisation (not the root you pinned)")
        opened.append(_certified(body, issuer))
    for i, c in enumerate(opened):
        if c.issuer == org.root_sign_public:
            if i != len(opened) - 1:
                raise TrustFailure("the certificate chain goes on past the root")
            break
        nxt = opened[i + 1] if i + 1 < len(opened) else None
        if nxt is None:
            raise TrustFailure("the certificate chain does not end at your organisation's root")
        if nxt.sign_public != c.issuer or not nxt.may_certify or nxt.role != "admin":
            raise TrustFailure(f"{c.username}'s certificate is signed by a key that may not certify")
    names = tuple(c.username for c in opened)
    first = opened[0]
    return Certified(first.user_id, first.username, first.role, first.box_public, first.sign_public,
                     first.may_certify, first.issuer, names)


def verify_user(user: dict, org: Organisation) -> Certified:
    """A user as the server lists them (with "certificates"), checked: the keys are the certified ones."""
    c = verify_chain(user.get("certificates") or [], org)
    if (c.username != user.get("username") or c.user_id != user.get("id")
            or b64e(c.box_public) != user.get("box_public") or b64e(c.sign_public) != user.get("sign_public")):
        raise TrustFailure(f"the keys the server lists for {user.get('username')} are not the certified ones")
    return c


# ---------------------------------------------------------------- membership chain


@dataclass
class CaseState:
    """A case as its verified chain says it is."""

    case_id: str
    seq: int = 0
    head: str = ""
    members: dict[str, dict] = field(default_factory=dict)  # user_id -> {username, box_public, sign_public}
    key_version: int = 0
    checks: dict[int, str] = field(default_factory=dict)  # key version -> commitment



def member_of(user: dict) -> dict:
    return {"user_id": user["id"], "username": user["username"], "box_public": user["box_public"],
            "sign_public": user["sign_public"]}


def make_entry(state: CaseState, op: str, member: dict, key_version: int, key_check: str,
               signer_id: str, sign_seed: bytes, time: str) -> dict:
    """The next entry of a case's chain, signed by `sign_seed` (a member of `state`, or the creator)."""
    return make_statement(ENTRY, {
        "v": 1, "kind": ENTRY, "case": state.case_id, "seq": state.seq + 1, "prev": state.head, "op": op,
        "signer_id": signer_id,
        "member": {k: member[k] for k in ("user_id", "username", "box_public", "sign_public")},
        "key_version": key_version, "key_check": key_check, "time": time}, sign_seed)


def apply_entry(state: CaseState, entry: dict, keys_of: KeysOf | None = None) -> CaseState:
    """The state after one more entry, or TrustFailure if the entry does not follow.

    The signer must be a member of `state`, signing with the key the chain
    recorded for them or with one `keys_of(user_id)` vouches for (their
    current certified key, after a password recovery re-keyed them).
    """
    body, signer = open_statement(entry, ENTRY)
    seq = state.seq + 1
    if body.get("case") != state.case_id or body.get("seq") != seq or body.get("prev") != state.head:
        raise TrustFailure(f"entry {seq} of the membership chain does not follow entry {state.seq}")
    op, m, version, check = body.get("op"), body.get("member"), body.get("key_version"), body.get("key_check")
    if not isinstance(m, dict) or not isinstance(version, int) or not isinstance(check, str):
        raise TrustFailure(f"entry {seq} of the membership chain is malformed")
    try:
        member = {"user_id": str(m["user_id"]), "username": str(m["username"]),
                  "box_public": b64e(b64d(m["box_public"])), "sign_public": b64e(b64d(m["sign_public"]))}
    except (KeyError, ValueError, TypeError) as exc:
        raise TrustFailure(f"entry {seq} of the membership chain names a member badly") from exc
    members = dict(state.members)
    checks = dict(state.checks)
    signer_id = body.get("signer_id")
    if op == "create":
        if seq != 1 or version < 1 or b64e(signer) != member["sign_public"] or signer_id != member["user_id"]:
            raise TrustFailure("the membership chain does not start with its creator")
        members[member["user_id"]] = member
        checks[version] = check
    else:
        known_signer = members.get(signer_id) if isinstance(signer_id, str) else None
        vouched = keys_of(signer_id) if (known_signer and keys_of) else set()
        if known_signer is None or b64e(signer) not in {known_signer["sign_public"], *vouched}:
            raise TrustFailure(f"entry {seq} of the membership chain is signed by someone who was not a member")
        if op == "add":
            if member["user_id"] in members or version != state.key_version or check != state.checks.get(version):
                raise TrustFailure(f"entry {seq} adds a member inconsistently")
            members[member["user_id"]] = member
        elif op == "remove":
            if member["user_id"] not in members or version != state.key_version + 1:
                raise TrustFailure(f"entry {seq} removes a member inconsistently")
            del members[member["user_id"]]
            if not members:
                raise TrustFailure(f"entry {seq} leaves the case with no member")
            checks[version] = check
        else:
            raise TrustFailure(f"entry {seq} of the membership chain has an unknown operation")
    return CaseState(state.case_id, seq, statement_id(entry), members,
                     version if op != "add" else state.key_version, checks)


def replay(case_id: str, entries: list, keys_of: KeysOf | None = None) -> CaseState:
    """Verify a whole chain from its creator; the state it ends in."""
    if not isinstance(entries, list) or not entries:
        raise TrustFailure("this case has no membership chain (a vault from before chains: a member must adopt it)")
    state = CaseState(case_id)
    for entry in entries:
        state = apply_entry(state, entry, keys_of)
    return state
