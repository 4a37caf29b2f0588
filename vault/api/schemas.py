"""Request bodies. Unknown fields are refused (extra="forbid"), every string
and list is bounded, and the searchable metadata is restricted to the
vocabularies, so nothing unexpected reaches the database or the index."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from vault.domain import vocab

B64 = Annotated[str, StringConstraints(max_length=4_000_000, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,31}$")]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Role = Literal["admin", "lawyer", "medic"]
Lang = Literal["en", "ru", "ky"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_controls(v: str) -> str:
    if any(ord(c) < 32 and c not in "\t" for c in v):
        raise ValueError("control characters are not allowed")
    return v


class KdfParams(Strict):
    alg: Literal["argon2id13"]
    ops: int = Field(ge=1, le=20)
    mem: int = Field(ge=8192, le=1024 * 1024 * 1024)


# Login names are checked loosely (any case) but never reach SQL with
# characters a database could choke on (NUL) or a log could be confused by.
LoginName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class PreloginIn(Strict):
    username: LoginName


class LoginIn(Strict):
    username: LoginName
    auth_key: B64
    totp: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    # The interface language chosen on the sign-in page: saved to the account on success.
    language: Lang | None = None


class RegisterIn(Strict):
    invitation: Annotated[str, StringConstraints(min_length=10, max_length=100)]
    username: Username
    kdf_salt: B64
    kdf_params: KdfParams
    auth_key: B64
    box_public: B64
    sign_public: B64
    enc_private_keys: B64
    # Ties these keys to the invitation's secret, which the server never sees (docs/trust.md).
    binding: B64
    language: Lang | None = None  # the registration page's language, the account's from the start


# Public keys and signatures in signed statements: checked for their exact size where used.
B64Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
B64Sig = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]


class Statement(Strict):
    """A signed statement (a certificate or a membership entry), kept exactly as signed (docs/trust.md)."""

    kind: Literal["cert", "case-entry"]
    payload: Annotated[str, StringConstraints(min_length=2, max_length=16384)]
    signer: B64Key
    signature: B64Sig


class CertificateIn(Strict):
    certificate: Statement


class RootIn(Strict):
    root_sign_public: B64Key
    proof: B64Sig  # the root's signature over statement_message("root", recovery_public)


class ChainIn(Strict):
    """A case from before chains adopted: its `create`, then one `add` per other member."""

    entries: list[Statement] = Field(min_length=1, max_length=1000)


class PasswordIn(Strict):
    current_auth_key: B64
    kdf_salt: B64
    kdf_params: KdfParams
    auth_key: B64
    enc_private_keys: B64
    # False when a client only moves to stronger parameters at sign-in: the
    # password is the same, so the user's other devices stay signed in.
    end_other_sessions: bool = True


class InviteIn(Strict):
    role: Role
    reset_username: Username | None = None


class TotpBeginIn(Strict):
    """Turning the second factor on proves the current password: a stolen session alone must not lock the owner out."""

    current_auth_key: B64


class TotpCodeIn(Strict):
    """A code from the authenticator app, with the current password's auth key (as for a password change)."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    current_auth_key: B64


class ProfileIn(Strict):
    language: Lang


class KeyVersionIn(Strict):
    """A new case key version: sealed copies plus the creator's signed commitment."""

    version: int = Field(ge=1, le=1_000_000)
    check: Hex64
    signature: B64
    sealed: dict[str, B64] = Field(min_length=2, max_length=500)  # "user:<id>" | "recovery"


class CaseIn(Strict):
    id: Id  # chosen by the client, so its signed key commitment can name the case
    reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
    title: Text200
    region: str | None = None
    key: KeyVersionIn
    entry: Statement  # the membership chain's `create`, signed by you

    _t = field_validator("title")(_no_controls)

    @field_validator("region")
    @classmethod
    def _region(cls, v):
        if v is not None and v not in vocab.REGIONS:
            raise ValueError(f"unknown region; one of {', '.join(vocab.REGIONS)}")
        return v


class MemberIn(Strict):
    username: Username
    # Every existing key version sealed to the newcomer, so old items open too.
    sealed: dict[str, B64] = Field(min_length=1, max_length=1000)
    entry: Statement  # the membership chain's `add`


class MemberRemoveIn(Strict):
    rotation: KeyVersionIn
    entry: Statement  # the membership chain's `remove`, naming the rotation's version and commitment


class Metadata(Strict):
    """Searchable metadata: visible to the server. Never put names here."""

    title: Text200
    evidence_type: str
    incident_date_from: date | None = None
    incident_date_to: date | None = None
    region: str | None = None
    detention_place_type: str | None = None
    place: Annotated[str, StringConstraints(max_length=200)] | None = None
    violations: list[str] = Field(default_factory=list, max_length=20)
    methods: list[str] = Field(default_factory=list, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    language: Lang | None = None
    # A case record names the case record it replaces (the version its author opened), so that
    # every client and the search index agree on the latest even when two saves share a second.
    supersedes: Id | None = None

    _t = field_validator("title", "place")(lambda v: v if v is None else _no_controls(v))

    @field_validator("evidence_type")
    @classmethod
    def _et(cls, v):
        return _in(v, vocab.EVIDENCE_TYPES, "evidence type")

    @field_validator("region")
    @classmethod
    def _region(cls, v):
        return v if v is None else _in(v, vocab.REGIONS, "region")

    @field_validator("detention_place_type")
    @classmethod
    def _dpt(cls, v):
        return v if v is None else _in(v, vocab.DETENTION_PLACE_TYPES, "place of detention type")

    @field_validator("violations")
    @classmethod
    def _viol(cls, v):
        return [_in(x, vocab.VIOLATIONS, "violation") for x in dict.fromkeys(v)]

    @field_validator("methods")
    @classmethod
    def _meth(cls, v):
        return [_in(x, vocab.METHODS, "method") for x in dict.fromkeys(v)]

    @field_validator("tags")
    @classmethod
    def _tags(cls, v):
        return [_no_controls(t) for t in dict.fromkeys(v)]

    @model_validator(mode="after")
    def _dates(self):
        if self.incident_date_from and self.incident_date_to and self.incident_date_from > self.incident_date_to:
            raise ValueError("incident_date_from is after incident_date_to")
        if self.supersedes and self.evidence_type != "case_record":
            raise ValueError("only a case record supersedes another item")
        return self


def _in(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(allowed)}")
    return value


class UploadIn(Strict):
    size: int = Field(ge=1)  # ciphertext bytes, checked against the server's limit
    key_version: int = Field(ge=1)
    metadata: Metadata
    attached_to: Id | None = None


class FinishIn(Strict):
    ciphertext_sha256: Hex64
    sealed_manifest: B64
    wrapped_key: B64
    receipt_signature: B64
    sealed_fields: B64 | None = None


class RecoveryGrantIn(Strict):
    case_id: Id
    version: int = Field(ge=1)
    sealed: B64


class RecoveryGrantsIn(Strict):
    grants: list[RecoveryGrantIn] = Field(max_length=10_000)

