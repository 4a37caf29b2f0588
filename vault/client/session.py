"""Signed-in client operations: accounts, cases, keys.

A `ClientSession` holds the API token and, once the password has been
given, the user's private keys in memory only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vault import crypto
from vault.client import state
from vault.client.http import ApiFailure, Http, Unreachable
from vault.client.trust import Invitation, Trust, TrustError, parse_invitation
from vault.crypto import b64d, b64e
from vault.domain import trust
from vault.domain.trust import CaseState, Organisation

__all__ = ["ClientSession", "TrustError", "register"]


def derive(http: Http, username: str, password: str) -> tuple[bytes, dict]:
    pre = http.post("/auth/prelogin", {"username": username})
    master = crypto.derive_master_key(password, b64d(pre["salt"]), pre["kdf"])
    return master, pre


def _weaker(params: dict, current: dict) -> bool:
    """Whether a password's Argon2id parameters fall short of the vault's current ones in any way."""
    return params.get("ops", 0) < current["ops"] or params.get("mem", 0) < current["mem"]


def register(url: str, invitation: str, username: str, password: str, home: Path | None = None) -> dict:
    """Make keys locally and register them with a one-time invitation code.

    The code's organisation fingerprint must match the keys the server
    names, or nothing is sent; its secret binds the new public keys so the
    inviting admin's client can tell they are the ones made here.
    """
    home_dir = state.home(home)
    inv = parse_invitation(invitation)
    http = Http(url)
    params = http.get("/auth/params")
    kdf = crypto.check_kdf_params(params["kdf"])
    org = Trust(url, home_dir).pin_organisation(params, inv.org_fingerprint, inv.inviter_fingerprint)
    salt = crypto.random_bytes(crypto.SALT_BYTES)
    master = crypto.derive_master_key(password, salt, kdf)
    keys = crypto.UserKeys.generate()
    body = {
        "invitation": inv.token, "username": username, "kdf_salt": b64e(salt), "kdf_params": kdf,
        "auth_key": b64e(crypto.auth_key(master)),
        "box_public": b64e(keys.box_public), "sign_public": b64e(keys.sign_public),
        "enc_private_keys": b64e(crypto.encrypt_user_keys(crypto.key_encryption_key(master), username, keys)),
        "binding": b64e(crypto.invitation_binding(inv.secret, username, keys.box_public, keys.sign_public)),
    }
    out = http.post("/auth/register", body)
    state.verify_pin(url, username, b64e(keys.box_public), b64e(keys.sign_public), "own", base=home_dir)
    return {**out, "fingerprint": crypto.fingerprint(keys.box_public, keys.sign_public),
            "org_fingerprint": org.fingerprint}


@dataclass
class ClientSession:
    http: Http
    username: str
    me: dict = field(default_factory=dict)
    keys: crypto.UserKeys | None = None
    home: Path | None = None  # this person's client state folder (pins, session)

    def __post_init__(self):
        self.home = state.home(self.home)

    @property
    def url(self) -> str:
        return self.http.url

    @classmethod
    def login(cls, url: str, username: str, password: str, totp: str | None = None,
              home: Path | None = None) -> ClientSession:
        home_dir = state.home(home)
        http = Http(url)
        master, pre = derive(http, username, password)
        body = {"username": username, "auth_key": b64e(crypto.auth_key(master))}
        if totp:
            body["totp"] = totp
        out = http.post("/auth/login", body)
        http.token = out["token"]
        me = out["user"]
        keys = crypto.decrypt_user_keys(crypto.key_encryption_key(master), me["username"], b64d(me["enc_private_keys"]))
        if b64e(keys.sign_public) != me["sign_public"] or b64e(keys.box_public) != me["box_public"]:
            raise TrustError("the server returned public keys that do not match your private keys")
        state.verify_pin(url, me["username"], me["box_public"], me["sign_public"], "own", base=home_dir)
        state.save_session(url, me["username"], out["token"], out["expires_at"], base=home_dir)
        sess = cls(http, me["username"], me, keys, home_dir)
        try:
            current = http.get("/auth/params")["kdf"]
            if _weaker(pre["kdf"], current):
                # The vault now asks for stronger Argon2id parameters than this
                # password was set with: move to them while the password is at
                # hand, so old and new accounts look alike to prelogin (and a
                # stolen database costs a thief the new price per guess).
                sess._set_password(crypto.auth_key(master), password, current, end_other_sessions=False)
        except (ApiFailure, Unreachable):
            pass  # signed in all the same; the next sign-in tries again
        return sess

    def change_password(self, current_password: str, new_password: str) -> dict:
        """Set a new password; the keys stay, every other session of the account ends."""
        master, _ = derive(self.http, self.username, current_password)
        params = crypto.check_kdf_params(self.http.get("/auth/params")["kdf"])
        return self._set_password(crypto.auth_key(master), new_password, params, end_other_sessions=True)

    def password_proof(self, password: str) -> str:
        """The current password's auth key (base64): what the server checks before a change a session alone may not make."""
        master, _ = derive(self.http, self.username, password)
        return b64e(crypto.auth_key(master))

    def totp_begin(self, password: str) -> dict:
        """Start turning the second factor on: {"secret", "uri"} for the authenticator app."""
        return self.http.post("/me/totp", {"current_auth_key": self.password_proof(password)})

    def totp_confirm(self, password: str, code: str) -> dict:
        """Put the second factor in force with a code the app shows."""
        return self.http.post("/me/totp/confirm", {"current_auth_key": self.password_proof(password), "code": code})

    def totp_disable(self, password: str, code: str) -> dict:
        """Turn the second factor off (the password and a current code)."""
        return self.http.post("/me/totp/disable", {"current_auth_key": self.password_proof(password), "code": code})

    def _set_password(self, current_auth_key: bytes, password: str, params: dict, end_other_sessions: bool) -> dict:
        keys = self._require_keys()
        salt = crypto.random_bytes(crypto.SALT_BYTES)
        master = crypto.derive_master_key(password, salt, crypto.check_kdf_params(params))
        enc = crypto.encrypt_user_keys(crypto.key_encryption_key(master), self.username, keys)
        # Never send a key blob that does not open to these very keys: it would lock the account.
        again = crypto.decrypt_user_keys(crypto.key_encryption_key(master), self.username, enc)
        if (again.box_public, again.sign_public) != (keys.box_public, keys.sign_public):
            raise TrustError("re-encrypting the private keys failed; the password was not changed")
        out = self.http.post("/me/password", {
            "current_auth_key": b64e(current_auth_key), "kdf_salt": b64e(salt), "kdf_params": params,
            "auth_key": b64e(crypto.auth_key(master)), "enc_private_keys": b64e(enc),
            "end_other_sessions": end_other_sessions})
        self.me["enc_private_keys"] = b64e(enc)
        return out

    @classmethod
    def resume(cls, url: str, home: Path | None = None) -> ClientSession:
        home_dir = state.home(home)
        saved = state.load_session(url, base=home_dir)
        if not saved:
            raise ApiFailure(401, "unauthenticated", "Not signed in: run `vault login` first.")
        http = Http(url, saved["token"])
        me = http.get("/me")
        return cls(http, me["username"], me, None, home_dir)

    def unlock(self, password: str) -> None:
        """Open the private keys with the password (needed to seal, sign, decrypt)."""
        master, _ = derive(self.http, self.username, password)
        self.keys = crypto.decrypt_user_keys(crypto.key_encryption_key(master), self.username,
                                             b64d(self.me["enc_private_keys"]))

    def logout(self) -> None:
        try:
            self.http.post("/auth/logout")
        finally:
            state.clear_session(self.url, base=self.home)

    # ------------------------------------------------------------------ trust

    @property
    def trust(self) -> Trust:
        return Trust(self.url, self.home)

    def organisation(self) -> Organisation:
        """The organisation this client pinned (from an invitation code or `vault org pin`)."""
        return self.trust.organisation()

    def pin_organisation(self, fingerprint: str) -> Organisation:
        """Pin the organisation on a new computer, from the fingerprint on the paper kit or an invitation."""
        return self.trust.pin_organisation(self.http.get("/auth/params"), fingerprint)

    def own_certificate(self) -> trust.Certified | None:
        """My certificate, checked; and checked against the inviter my invitation named."""
        me = self.http.get("/me")
        self.me.update(me)
        c = self.trust.certified(me)
        if c is None:
            return None
        expected = self.trust.inviter_fingerprint()
        chain = me["certificates"]
        if expected and len(chain) > 1:
            body, _ = trust.open_statement(chain[1], trust.CERT)
            got = crypto.fingerprint(b64d(body["box_public"]), b64d(body["sign_public"]))
            if got.replace(" ", "") != expected.replace(" ", ""):
                raise TrustError(f"your certificate was signed by an admin whose fingerprint is {got}, not "
                                 f"the one your invitation named ({expected}): tell your admin")
        return c

    def trusted_user(self, user: dict, expect_fingerprint: str | None = None) -> dict:
        """A colleague's keys, checked before use (certificate chain or in-person comparison)."""
        self.trust.verify_user(user, expect_fingerprint)
        return user

    def recovery_public(self) -> bytes:
        """The organisation recovery key every case key is also sealed to: the pinned one, never the server's."""
        return self.organisation().recovery_public

    def _require_keys(self) -> crypto.UserKeys:
        if self.keys is None:
            raise TrustError("this needs your private keys: give the password")
        return self.keys

    # ------------------------------------------------------------------ admins

    def invite(self, role: str, reset_username: str | None = None) -> dict:
        """An invitation made here: the server gets a token; the code with its secret is for the invitee only."""
        keys = self._require_keys()
        out = self.http.post("/admin/invitations", {"role": role, "reset_username": reset_username})
        secret = crypto.invitation_secret(keys.sign_seed, out["id"], out["role"])
        inv = Invitation(out["invitation"], secret, crypto.fingerprint(keys.box_public, keys.sign_public),
                         self.organisation().fingerprint)
        return {**out, "code": inv.code(), "link": f"{self.url}/register#{inv.code()}"}

    def pending(self) -> list[dict]:
        return self.http.get("/admin/pending")["pending"]

    def certify_pending(self, kit_secret: bytes | None = None, only: str | None = None) -> list[str]:
        """Certify the accounts whose invitation binding checks out; the names certified.

        With `kit_secret` (the paper kit), as the organisation root, for the
        invitations made on the server machine; otherwise, as this admin, for
        the ones this admin made. An account whose binding does not match is
        never certified: the server changed its keys, name or role.
        """
        org = self.organisation()
        if kit_secret is not None:
            seed = crypto.root_sign_seed(kit_secret)
            if crypto.box_public_from_secret(kit_secret) != org.recovery_public or \
                    crypto.sign_public_from_seed(seed) != org.root_sign_public:
                raise TrustError("this paper kit does not belong to the organisation you pinned")
            mine = lambda p: p["invited_by_id"] is None  # noqa: E731
        else:
            seed = self._require_keys().sign_seed
            mine = lambda p: p["invited_by_id"] == self.me["id"]  # noqa: E731
        done, refused = [], []
        for p in self.pending():
            if not mine(p) or (only and p["username"] != only) or not p.get("invitation_id"):
                continue
            secret = crypto.invitation_secret(seed, p["invitation_id"], p["role"])
            expect = crypto.invitation_binding(secret, p["username"], b64d(p["box_public"]), b64d(p["sign_public"]))
            if not crypto.constant_time_equal(expect, b64d(p.get("binding") or "")):
                refused.append(p["username"])
                continue
            self.certify(p, seed)
            done.append(p["username"])
        if refused:
            raise TrustError(f"not certified: {', '.join(refused)}. Their keys do not match the invitation they "
                             "used, so the server may have replaced them. Invite them again and compare "
                             "fingerprints in person" + (f" (certified: {', '.join(done)})" if done else ""))
        return done

    def certify(self, user: dict, seed: bytes | None = None) -> dict:
        """Sign a certificate for these keys (after a binding check or an in-person comparison)."""
        seed = seed or self._require_keys().sign_seed
        cert = trust.certify(seed, self.organisation(), user["id"], user["username"], user["role"],
                             b64d(user["box_public"]), b64d(user["sign_public"]),
                             datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))
        return self.http.post(f"/admin/users/{user['id']}/certificate", {"certificate": cert})

    # ------------------------------------------------------------------ cases

    def cases(self) -> list[dict]:
        return self.http.get("/cases")["cases"]

    def case(self, case_id: str) -> dict:
        return self.http.get(f"/cases/{case_id}")

    def case_state(self, case: dict) -> CaseState:
        """The case's members and key version from its verified chain (never the server's lists)."""
        return self.trust.case_state(case)

    def case_keys(self, case: dict) -> dict[int, bytes]:
        """Open my sealed copies of a case's keys; each must match its commitment (the chain's, where it has one)."""
        keys = self._require_keys()
        st = self.case_state(case)
        versions = {kv["version"]: kv for kv in case["key_versions"]}
        out = {}
        for v, sealed in case["my_keys"].items():
            kv = versions.get(int(v))
            if kv is None:
                raise TrustError(f"key version {v} has no commitment")
            key = keys.open_sealed(b64d(sealed))
            check = crypto.case_key_check(key)
            if check != kv["check"] or check != st.checks.get(int(v), check):
                raise TrustError(f"case key version {v} does not match its commitment")
            out[int(v)] = key
        if st.key_version not in out:
            raise TrustError(f"you hold no key for the case's current version {st.key_version}: ask a member to "
                             "add you again")
        return out

    def current_version(self, case: dict) -> tuple[int, bytes]:
        """The key version new items use, from the verified chain, and its key."""
        st = self.case_state(case)
        return st.key_version, self.case_keys(case)[st.key_version]

    def _now(self) -> str:
        return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def _me_member(self) -> dict:
        keys = self._require_keys()
        return {"user_id": self.me["id"], "username": self.username, "box_public": b64e(keys.box_public),
                "sign_public": b64e(keys.sign_public)}

    def new_key_version(self, case_id: str, version: int, members: list[dict]) -> tuple[bytes, dict]:
        keys = self._require_keys()
        case_key = crypto.random_key()
        check = crypto.case_key_check(case_key)
        sealed = {"recovery": b64e(crypto.seal(self.recovery_public(), case_key))}
        for m in members:
            if m["id"] != self.me["id"]:
                self.trusted_user(m)
            sealed[f"user:{m['id']}"] = b64e(crypto.seal(b64d(m["box_public"]), case_key))
        sig = keys.sign(crypto.case_key_message(case_id, version, check))
        return case_key, {"version": version, "check": check, "signature": b64e(sig), "sealed": sealed}

    def create_case(self, reference: str, title: str, region: str | None = None) -> dict:
        keys = self._require_keys()
        # The client picks the case id so the key commitment it signs can
        # name the case; the server only checks the id is new and well-formed.
        case_id = crypto.random_bytes(16).hex()
        _, kv = self.new_key_version(case_id, 1, [{**self.me, "box_public": b64e(keys.box_public)}])
        entry = trust.make_entry(trust.CaseState(case_id), "create", self._me_member(), 1, kv["check"],
                                 self.me["id"], keys.sign_seed, self._now())
        body = {"id": case_id, "reference": reference, "title": title, "region": region, "key": kv, "entry": entry}
        out = self.http.post("/cases", body)
        state.save_chain_point(self.url, case_id, 1, trust.statement_id(entry), base=self.home)
        return out

    def add_member(self, case_id: str, username: str, expect_fingerprint: str | None = None) -> dict:
        keys = self._require_keys()
        case = self.case(case_id)
        st = self.case_state(case)
        case_keys = self.case_keys(case)
        user = self.http.get(f"/users/{username}")
        if user["id"] in st.members:
            raise TrustError(f"{username} is already a member of this case")
        how = self.trust.verify_user(user, expect_fingerprint)
        sealed = {str(v): b64e(crypto.seal(b64d(user["box_public"]), k)) for v, k in case_keys.items()}
        entry = trust.make_entry(st, "add", trust.member_of(user), st.key_version, st.checks[st.key_version],
                                 self.me["id"], keys.sign_seed, self._now())
        out = self.http.post(f"/cases/{case_id}/members", {"username": username, "sealed": sealed, "entry": entry})
        state.save_chain_point(self.url, case_id, st.seq + 1, trust.statement_id(entry), base=self.home)
        fpr = crypto.fingerprint(b64d(user["box_public"]), b64d(user["sign_public"]))
        return {**out, "fingerprint": fpr, "verified_by": how}

    def remove_member(self, case_id: str, username: str) -> dict:
        keys = self._require_keys()
        case = self.case(case_id)
        st = self.case_state(case)
        self.case_keys(case)  # proves membership before rotating
        target = next((m for m in st.members.values() if m["username"] == username), None)
        if target is None:
            raise TrustError(f"{username} is not a member of this case")
        listed = {m["id"]: m for m in case["members"]}
        remaining = []
        for uid in st.members:
            if uid == target["user_id"]:
                continue
            if uid not in listed:
                raise TrustError("the server does not list every member the case's chain names; nothing was changed")
            remaining.append(listed[uid])
        version = st.key_version + 1
        _, rotation = self.new_key_version(case_id, version, remaining)
        entry = trust.make_entry(st, "remove", target, version, rotation["check"], self.me["id"], keys.sign_seed,
                                 self._now())
        out = self.http.call("DELETE", f"/cases/{case_id}/members/{target['user_id']}",
                             json={"rotation": rotation, "entry": entry})
        state.save_chain_point(self.url, case_id, st.seq + 1, trust.statement_id(entry), base=self.home)
        return out

    def adopt_case(self, case_id: str, confirmed: set[str] | None = None) -> dict:
        """Start the membership chain of a case from before chains: its members as listed, each verified."""
        keys = self._require_keys()
        case = self.case(case_id)
        if case.get("chain"):
            raise TrustError("this case already has a membership chain")
        versions = {kv["version"]: kv for kv in case["key_versions"]}
        current = case["key_version"]
        mine = case["my_keys"].get(str(current))
        if mine is None or crypto.case_key_check(keys.open_sealed(b64d(mine))) != versions[current]["check"]:
            raise TrustError("you hold no key for the case's current version; nothing was adopted")
        st = trust.CaseState(case_id)
        entries = []
        check = versions[current]["check"]
        entry = trust.make_entry(st, "create", self._me_member(), current, check, self.me["id"], keys.sign_seed,
                                 self._now())
        entries.append(entry)
        st = trust.apply_entry(st, entry)
        for m in case["members"]:
            if m["id"] == self.me["id"]:
                continue
            if confirmed is not None and m["username"] not in confirmed:
                raise TrustError(f"{m['username']} was not confirmed; nothing was adopted")
            self.trusted_user(m)
            entry = trust.make_entry(st, "add", trust.member_of(m), current, check, self.me["id"], keys.sign_seed,
                                     self._now())
            entries.append(entry)
            st = trust.apply_entry(st, entry)
        out = self.http.post(f"/cases/{case_id}/chain", {"entries": entries})
        state.save_chain_point(self.url, case_id, st.seq, st.head, base=self.home)
        return out
