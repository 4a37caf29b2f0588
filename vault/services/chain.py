"""The server's side of each case's membership chain: store entries, check them against its own view.

Clients replay the chain themselves and never rely on these checks; they
are defence in depth, so that an honest server refuses an entry that does
not follow, or that says something other than what the request does (the
member added is the user added, with their registered keys; a rotation's
commitment is the key version being stored). Formats: docs/trust.md.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import Case, CaseEntry, CaseKeyVersion, User
from vault.domain import trust
from vault.services.errors import Refused


class StatementInput(Protocol):
    """A signed statement as a request carries it (docs/trust.md, "Signed statements")."""

    kind: str
    payload: str
    signer: str
    signature: str


def plain(statement: StatementInput) -> dict:
    return {"kind": statement.kind, "payload": statement.payload, "signer": statement.signer,
            "signature": statement.signature}


def bad_entry(why: str) -> Refused:
    return Refused(422, "bad_entry", f"The membership entry was refused: {why}.")


def no_chain() -> Refused:
    return Refused(409, "no_chain", "This case has no membership chain yet (it is from before chains): "
                   "a member must adopt it first (`vault case adopt CASE`, or the case page).")


def entries(s: Session, case_id: str) -> list[CaseEntry]:
    return list(s.execute(select(CaseEntry).where(CaseEntry.case_id == case_id)
                          .order_by(CaseEntry.seq)).scalars())


def as_statement(row: CaseEntry) -> dict:
    return {"kind": trust.ENTRY, "payload": row.payload, "signer": crypto.b64e(row.signer_public),
            "signature": crypto.b64e(row.signature)}


def statements(s: Session, case_id: str) -> list[dict]:
    """The stored chain, in `seq` order, as clients receive it."""
    return [as_statement(r) for r in entries(s, case_id)]


def _keys_of(s: Session) -> trust.KeysOf:
    # A member re-keyed by a password recovery signs with their new registered key.
    def keys(user_id: str) -> set[str]:
        u = s.get(User, user_id)
        return {crypto.b64e(u.sign_public)} if u is not None else set()

    return keys


def state(s: Session, case: Case) -> trust.CaseState:
    """The case as its stored chain says it is (an empty state for a case without one)."""
    stored = statements(s, case.id)
    if not stored:
        return trust.CaseState(case.id)
    try:
        return trust.replay(case.id, stored, _keys_of(s))
    except trust.TrustFailure as exc:
        raise Refused(409, "chain_broken", f"The stored membership chain of this case does not verify ({exc}); "
                      "tell your admin.") from exc


def _member_is(member: dict, u: User) -> bool:
    return member == {"user_id": u.id, "username": u.username, "box_public": crypto.b64e(u.box_public),
                      "sign_public": crypto.b64e(u.sign_public)}


def _check(s: Session, st: trust.CaseState, entry: dict, op: str, member: User, signer: User,
           key: tuple[int, str]) -> tuple[trust.CaseState, dict, bytes]:
    """The state after `entry`, if it follows `st` and says what the request does; bad_entry otherwise."""
    try:
        after = trust.apply_entry(st, entry, _keys_of(s))
        body, signer_public = trust.open_statement(entry, trust.ENTRY)
    except trust.TrustFailure as exc:
        raise bad_entry(str(exc)) from exc
    if body.get("op") != op:
        raise bad_entry(f"this request needs a {op} entry, not {body.get('op')!r}")
    if signer_public != signer.sign_public or body.get("signer_id") != signer.id:
        raise bad_entry("it must be signed by you, with your registered key")
    if not _member_is(body.get("member"), member):
        raise bad_entry(f"its member is not {member.username} with their registered keys")
    if (body.get("key_version"), body.get("key_check")) != key:
        raise bad_entry(f"it must name key version {key[0]} with that version's commitment")
    return after, body, signer_public


def _store(s: Session, case: Case, entry: dict, seq: int, signer_public: bytes) -> None:
    s.add(CaseEntry(case_id=case.id, seq=seq, payload=entry["payload"], signer_public=signer_public,
                    signature=crypto.b64d(entry["signature"]), hash=trust.statement_id(entry)))


def append(s: Session, case: Case, entry: dict, expected_op: str, expected_member: User, signer: User,
           key: tuple[int, str] | None = None) -> trust.CaseState:
    """Check one more entry against the stored chain and the request, then store it.

    `key` is the (version, commitment) the entry must name: the version
    being stored for a create or a remove; None for an add, which names the
    case's current one.
    """
    st = state(s, case)
    if st.seq == 0 and expected_op != "create":
        raise no_chain()
    if key is None:
        current = s.get(CaseKeyVersion, (case.id, case.key_version))
        key = (case.key_version, current.check if current else "")
    after, _, signer_public = _check(s, st, entry, expected_op, expected_member, signer, key)
    _store(s, case, entry, after.seq, signer_public)
    s.flush()
    return after


def adopt(s: Session, case: Case, chain: list[dict], signer: User, members: list[User]) -> trust.CaseState:
    """Store the first chain of a case from before chains: create, then one add per other member.

    It must replay to exactly the members the server lists, with their
    registered keys, at the case's current key version and its commitment,
    every entry signed by the adopting member.
    """
    if entries(s, case.id):
        raise Refused(409, "chain_exists", "This case already has a membership chain; reload it.")
    current = s.get(CaseKeyVersion, (case.id, case.key_version))
    if current is None:
        raise Refused(409, "stale_key_version", "The case has no commitment for its current key version.")
    key = (case.key_version, current.check)
    by_id = {u.id: u for u in members}
    st = trust.CaseState(case.id)
    for i, entry in enumerate(chain):
        op = "create" if i == 0 else "add"
        try:
            member_id = trust.open_statement(entry, trust.ENTRY)[0].get("member", {}).get("user_id")
        except (trust.TrustFailure, AttributeError) as exc:
            raise bad_entry(f"entry {i + 1} is malformed") from exc
        member = signer if i == 0 else by_id.get(member_id)
        if member is None:
            raise bad_entry(f"entry {i + 1} adds someone who is not a member of this case")
        st, _, signer_public = _check(s, st, entry, op, member, signer, key)
        _store(s, case, entry, st.seq, signer_public)
    if set(st.members) != set(by_id):
        raise bad_entry("the chain must name exactly the case's current members")
    s.flush()
    return st
