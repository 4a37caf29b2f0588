"""What the Python client trusts, and why: the pinned organisation, certified colleagues, verified case chains.

Nothing here takes the server's word. The organisation is pinned from an
invitation code or a fingerprint a person read out; a colleague's keys are
used only through a certificate chain to that organisation or after an
in-person comparison; a case's members and key version come from its
replayed membership chain, and a chain shorter than one already seen is
refused. Formats: docs/trust.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vault import crypto
from vault.client import state
from vault.crypto import b64d, b64e
from vault.domain import trust
from vault.domain.trust import CaseState, Certified, Organisation, TrustFailure

INVITE_PREFIX = "vault-invite-v1"


class TrustError(Exception):
    """A key or commitment could not be verified; the message says which and what to do."""


@dataclass(frozen=True)
class Invitation:
    """An invitation code as a person hands it over; only `token` ever goes to the server."""

    token: str
    secret: bytes
    inviter_fingerprint: str
    org_fingerprint: str

    def code(self) -> str:
        return ":".join((INVITE_PREFIX, self.token, _b64url(self.secret),
                         _digits(self.inviter_fingerprint), _digits(self.org_fingerprint)))


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _digits(fpr: str) -> str:
    return re.sub(r"\D", "", fpr)


def spaced(digits: str) -> str:
    """A fingerprint as people read it: six groups of five digits."""
    d = _digits(digits)
    return " ".join(d[i:i + 5] for i in range(0, len(d), 5))


def parse_invitation(text: str) -> Invitation:
    """Read an invitation code, or a link ending in #<code>."""
    import base64

    code = text.strip().split("#", 1)[-1]
    code = code.removeprefix("invite=")
    parts = code.split(":")
    if len(parts) != 5 or parts[0] != INVITE_PREFIX:
        raise TrustError("this is not a complete invitation code (it starts with vault-invite-v1:); "
                         "ask your admin to send it again")
    _, token, secret, inviter, org = parts
    try:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except ValueError as exc:
        raise TrustError("the invitation code is damaged; ask your admin to send it again") from exc
    if len(raw) != 16 or len(_digits(inviter)) != 30 or len(_digits(org)) != 30:
        raise TrustError("the invitation code is damaged; ask your admin to send it again")
    return Invitation(token, raw, spaced(inviter), spaced(org))


def organisation_from(params: dict) -> Organisation:
    root = params.get("root_sign_public")
    if not root:
        raise TrustError("this vault has no organisation root yet: the holder of the paper kit runs "
                         "`vault org init-root --kit FILE` (see README, 'Moving an existing vault over')")
    return Organisation(b64d(params["recovery_public"]), b64d(root))


class Trust:
    """One person's trust decisions on one server (kept in their client state folder)."""

    def __init__(self, url: str, home: Path | None):
        self.url, self.home = url, home

    # ------------------------------------------------------------ the organisation

    def pin_organisation(self, params: dict, expect_fingerprint: str, inviter_fingerprint: str | None = None
                         ) -> Organisation:
        """Pin the organisation the server names, only if its fingerprint is the one a person gave."""
        org = organisation_from(params)
        if _digits(org.fingerprint) != _digits(expect_fingerprint):
            raise TrustError(
                f"the server's organisation keys have the fingerprint {org.fingerprint}, not "
                f"{spaced(expect_fingerprint)} as you were given: do not go on, and tell your admin")
        state.pin_org(self.url, b64e(org.recovery_public), b64e(org.root_sign_public),
                      inviter_fingerprint, base=self.home)
        state.pin(self.url, "@recovery", b64e(org.recovery_public), "", accept_change=True, base=self.home)
        return org

    def organisation(self) -> Organisation:
        pinned = state.pinned_org(self.url, base=self.home)
        if pinned is None:
            raise TrustError("this computer does not know your organisation yet: run "
                             "`vault org pin --fingerprint '<the 30 digits on the paper kit or your invitation>'`")
        return Organisation(b64d(pinned["recovery_public"]), b64d(pinned["root_sign_public"]))

    def inviter_fingerprint(self) -> str | None:
        pinned = state.pinned_org(self.url, base=self.home) or {}
        return pinned.get("inviter_fingerprint")

    # ------------------------------------------------------------ colleagues

    def certified(self, user: dict) -> Certified | None:
        """The user as their certificate chain states them, or None if they have no valid one."""
        try:
            return trust.verify_user(user, self.organisation())
        except TrustFailure:
            return None

    def verify_user(self, user: dict, expect_fingerprint: str | None = None) -> str:
        """Check a colleague's keys before they are used; how they were verified.

        Through a certificate chain to the pinned organisation; else an
        earlier in-person comparison of these very keys; else the
        fingerprint the user typed after comparing (`expect_fingerprint`),
        computed here from the keys about to be used.
        """
        fpr = crypto.fingerprint(b64d(user["box_public"]), b64d(user["sign_public"]))
        org = self.organisation()
        try:
            trust.verify_user(user, org)
            how = "certificate"
        except TrustFailure as failure:
            how = state.verified_how(self.url, user["username"], user["box_public"], user["sign_public"],
                                     base=self.home)
            if how is None and expect_fingerprint is not None:
                if _digits(expect_fingerprint) != _digits(fpr):
                    raise TrustError(f"{user['username']}'s keys have the fingerprint {fpr}, not the one you "
                                     "compared: nothing was sealed to them") from failure
                how = "in-person"
            if how is None:
                raise TrustError(
                    f"{user['username']}'s keys are not certified by your organisation ({failure}). "
                    f"Their fingerprint, computed here: {fpr}. Compare it with them in person; only if it "
                    f"matches, repeat with --fingerprint '{fpr}'") from failure
        state.verify_pin(self.url, user["username"], user["box_public"], user["sign_public"], how, base=self.home)
        return how

    def keys_of(self, users: dict[str, dict]):
        """For a chain replay: each member's current sign key, when it verifies (they were re-keyed)."""
        def keys(user_id: str) -> set[str]:
            u = users.get(user_id)
            if u is None:
                return set()
            try:
                self.verify_user(u)
            except TrustError:
                return set()
            return {u["sign_public"]}
        return keys

    # ------------------------------------------------------------ cases

    def case_state(self, case: dict) -> CaseState:
        """Replay the case's chain; refuse one that goes back behind what this client has seen."""
        users = {m["id"]: m for m in case.get("members", [])}
        try:
            st = trust.replay(case["id"], case.get("chain") or [], self.keys_of(users))
        except TrustFailure as exc:
            raise TrustError(f"case {case.get('reference', case['id'])}: {exc}") from exc
        seen = state.chain_point(self.url, case["id"], base=self.home)
        if seen is not None:
            entries = case["chain"]
            if st.seq < seen["seq"] or trust.statement_id(entries[seen["seq"] - 1]) != seen["head"]:
                raise TrustError(
                    f"case {case.get('reference', case['id'])}: the server shows an older or different history of "
                    f"its members (you have seen entry {seen['seq']}, it shows {st.seq}); nothing was sent. "
                    "Tell your admin: the server may have been tampered with")
        name = case.get("reference", case["id"])
        if case.get("key_version", st.key_version) != st.key_version:
            raise TrustError(
                f"case {name}: the server says key version {case.get('key_version')} is current, but the case's "
                f"verified membership chain ends at version {st.key_version}; nothing was sent. The server may "
                "have been tampered with: tell your admin")
        strangers = sorted(m["username"] for m in case.get("members", []) if m["id"] not in st.members)
        if strangers:
            raise TrustError(
                f"case {name}: the server lists members its verified membership chain does not name "
                f"({', '.join(strangers)}); nothing was sent. The server may have been tampered with: tell your admin")
        if seen is None or st.seq > seen["seq"]:
            state.save_chain_point(self.url, case["id"], st.seq, st.head, base=self.home)
        return st
