"""Signed-in client operations: accounts, cases, keys.

A `ClientSession` holds the API token and, once the password has been
given, the user's private keys in memory only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vault import crypto
from vault.client import state
from vault.client.http import ApiFailure, Http, Unreachable
from vault.crypto import b64d, b64e


class TrustError(Exception):
    """A key or commitment could not be verified; the message says which."""


def derive(http: Http, username: str, password: str) -> tuple[bytes, dict]:
    pre = http.post("/auth/prelogin", {"username": username})
    master = crypto.derive_master_key(password, b64d(pre["salt"]), pre["kdf"])
    return master, pre


def _weaker(params: dict, current: dict) -> bool:
    """Whether a password's Argon2id parameters fall short of the vault's current ones in any way."""
    return params.get("ops", 0) < current["ops"] or params.get("mem", 0) < current["mem"]


def register(url: str, invitation: str, username: str, password: str, home: Path | None = None) -> dict:
    """Make keys locally and register them with a one-time invitation."""
    home_dir = state.home(home)
    http = Http(url)
    params = http.get("/auth/params")
    kdf = crypto.check_kdf_params(params["kdf"])
    salt = crypto.random_bytes(crypto.SALT_BYTES)
    master = crypto.derive_master_key(password, salt, kdf)
    keys = crypto.UserKeys.generate()
    body = {
        "invitation": invitation, "username": username, "kdf_salt": b64e(salt), "kdf_params": kdf,
        "auth_key": b64e(crypto.auth_key(master)),
        "box_public": b64e(keys.box_public), "sign_public": b64e(keys.sign_public),
        "enc_private_keys": b64e(crypto.encrypt_user_keys(crypto.key_encryption_key(master), username, keys)),
    }
    out = http.post("/auth/register", body)
    state.pin(url, "@recovery", params["recovery_public"], "", base=home_dir)
    state.pin(url, username, b64e(keys.box_public), b64e(keys.sign_public), accept_change=True, base=home_dir)
    return {**out, "recovery_fingerprint": params["recovery_fingerprint"]}


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
        state.pin(url, me["username"], me["box_public"], me["sign_public"], accept_change=True, base=home_dir)
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

    def trusted_user(self, user: dict, accept_change: bool = False) -> dict:
        """Pin a colleague's keys on first use; refuse a silently changed key."""
        try:
            state.pin(self.url, user["username"], user["box_public"], user["sign_public"], accept_change, base=self.home)
        except state.KeyChanged as exc:
            raise TrustError(
                f"{user['username']}'s keys changed since you first saw them (new fingerprint {user['fingerprint']}). "
                f"Compare the fingerprint with them in person, then run `vault keys accept {user['username']}`."
            ) from exc
        return user

    def recovery_public(self, accept_change: bool = False, expect_fingerprint: str | None = None) -> bytes:
        """The organisation recovery key every case key is also sealed to, pinned on first use.

        A changed key is refused until accepted (`vault keys accept-recovery`);
        `expect_fingerprint` makes the acceptance apply only to the key the
        user was shown, not to one the server swapped in since.
        """
        params = self.http.get("/auth/params")
        public = b64d(params["recovery_public"])
        fpr = crypto.fingerprint(public, b"")  # computed here: never the server's word for it
        if expect_fingerprint is not None and fpr != expect_fingerprint:
            raise TrustError(f"the recovery key changed again while you were comparing (now {fpr}); start over")
        try:
            state.pin(self.url, "@recovery", params["recovery_public"], "", accept_change, base=self.home)
        except state.KeyChanged as exc:
            raise TrustError(
                f"the organisation's recovery key changed (new fingerprint {fpr}). Compare it with the paper "
                "recovery kit; only if they match, run `vault keys accept-recovery`") from exc
        return public

    def _require_keys(self) -> crypto.UserKeys:
        if self.keys is None:
            raise TrustError("this needs your private keys: give the password")
        return self.keys

    # ------------------------------------------------------------------ cases

    def new_key_version(self, case_id: str, version: int, members: list[dict]) -> tuple[bytes, dict]:
        keys = self._require_keys()
        case_key = crypto.random_key()
        check = crypto.case_key_check(case_key)
        sealed = {"recovery": b64e(crypto.seal(self.recovery_public(), case_key))}
        for m in members:
            m = self.trusted_user(m)
            sealed[f"user:{m['id']}"] = b64e(crypto.seal(b64d(m["box_public"]), case_key))
        sig = keys.sign(crypto.case_key_message(case_id, version, check))
        return case_key, {"version": version, "check": check, "signature": b64e(sig), "sealed": sealed}

    def create_case(self, reference: str, title: str, region: str | None = None) -> dict:
        keys = self._require_keys()
        # The client picks the case id so the key commitment it signs can
        # name the case; the server only checks the id is new and well-formed.
        case_key = crypto.random_key()
        check = crypto.case_key_check(case_key)
        me = {**self.me, "box_public": b64e(keys.box_public)}
        sealed = {"recovery": b64e(crypto.seal(self.recovery_public(), case_key)),
                  f"user:{me['id']}": b64e(crypto.seal(keys.box_public, case_key))}
        case_id = crypto.random_bytes(16).hex()
        sig = keys.sign(crypto.case_key_message(case_id, 1, check))
        body = {"id": case_id, "reference": reference, "title": title, "region": region,
                "key": {"version": 1, "check": check, "signature": b64e(sig), "sealed": sealed}}
        return self.http.post("/cases", body)

    def cases(self) -> list[dict]:
        return self.http.get("/cases")["cases"]

    def case(self, case_id: str) -> dict:
        return self.http.get(f"/cases/{case_id}")

    def case_keys(self, case: dict) -> dict[int, bytes]:
        """Open my sealed copies of a case's keys and check each commitment."""
        keys = self._require_keys()
        for m in case["members"]:
            self.trusted_user(m)
        pinned = state.pinned_sign_keys(self.url, base=self.home)
        versions = {kv["version"]: kv for kv in case["key_versions"]}
        out = {}
        for v, sealed in case["my_keys"].items():
            kv = versions.get(int(v))
            if kv is None:
                raise TrustError(f"key version {v} has no commitment")
            key = keys.open_sealed(b64d(sealed))
            if crypto.case_key_check(key) != kv["check"]:
                raise TrustError(f"case key version {v} does not match its commitment")
            if kv["signer_public"] not in pinned:
                raise TrustError(f"case key version {v} was made by a key you have not pinned")
            crypto.verify_detached(b64d(kv["signer_public"]),
                                   crypto.case_key_message(case["id"], int(v), kv["check"]), b64d(kv["signature"]))
            out[int(v)] = key
        return out

    def add_member(self, case_id: str, username: str, accept_change: bool = False) -> dict:
        case = self.case(case_id)
        keys = self.case_keys(case)
        user = self.trusted_user(self.http.get(f"/users/{username}"), accept_change)
        sealed = {str(v): b64e(crypto.seal(b64d(user["box_public"]), k)) for v, k in keys.items()}
        out = self.http.post(f"/cases/{case_id}/members", {"username": username, "sealed": sealed})
        return {**out, "fingerprint": user["fingerprint"]}

    def remove_member(self, case_id: str, username: str) -> dict:
        case = self.case(case_id)
        self.case_keys(case)  # proves membership and checks trust before rotating
        target = next((m for m in case["members"] if m["username"] == username), None)
        if target is None:
            raise TrustError(f"{username} is not a member of this case")
        remaining = [m for m in case["members"] if m["id"] != target["id"]]
        _, rotation = self.new_key_version(case_id, case["key_version"] + 1, remaining)
        return self.http.call("DELETE", f"/cases/{case_id}/members/{target['id']}", json={"rotation": rotation})
