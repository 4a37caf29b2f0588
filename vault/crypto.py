"""Every cryptographic operation of the vault, in one module.

Nothing else in the code base calls PyNaCl directly: a reviewer who wants to
know what the vault does with keys reads this file and docs/crypto.md. The
browser implements the same formats with libsodium.js (vault/static/js/crypto.js)
and the interop tests check the two byte for byte.

Formats (all integers big-endian, all text UTF-8):

* AEAD envelope: ``0x01 || nonce(24) || XChaCha20-Poly1305-IETF(ct||tag)``
  with an associated-data string that names what the envelope is for, so an
  envelope cannot be moved to another item, case or key version.
* Content stream: ``b"VLT\\x01" || secretstream header(24) || chunks``; each
  chunk is CHUNK_SIZE bytes of plaintext plus 17 bytes; the last chunk (maybe
  empty) carries TAG_FINAL, so truncation, reordering and appended data are
  all detected.
* Sealed manifest: AEAD(item_key, signature(64) || manifest_json) — the
  signature covers the exact manifest bytes, so no canonicalisation is
  needed across languages.
* Storage receipt: Ed25519 over ``receipt_message(...)`` (text, see below).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.hash
import nacl.public
import nacl.pwhash
import nacl.signing
import nacl.utils

# PyNaCl's own cffi module, for StreamEncryptor.push_block only (zero-copy upload path).
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

KEY_BYTES = 32
SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES  # 16
CHUNK_SIZE = 64 * 1024
STREAM_MAGIC = b"VLT\x01"
STREAM_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
STREAM_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
STREAM_PREFIX_BYTES = len(STREAM_MAGIC) + STREAM_HEADER_BYTES
ENVELOPE_VERSION = 1
SIGNATURE_BYTES = 64

_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

# Argon2id work factors for the password. The client refuses parameters
# below the production floor unless the test-only switch is set, so a
# dishonest server cannot make a stolen auth hash cheap to brute-force.
KDF_PRODUCTION = {"alg": "argon2id13", "ops": 3, "mem": 64 * 1024 * 1024}
# TEST-ONLY: cheap Argon2 so the suite runs in minutes. Never in production.
KDF_TEST_ONLY = {"alg": "argon2id13", "ops": 1, "mem": 8 * 1024 * 1024}
_TEST_KDF_ENV = "VAULT_INSECURE_TEST_KDF"


class CryptoError(Exception):
    """Base class: any failure of a cryptographic check."""


class IntegrityError(CryptoError):
    """Ciphertext was altered, truncated, reordered or extended."""


class DecryptionError(CryptoError):
    """A key does not open an envelope (wrong key, wrong context, or altered)."""


class BadSignature(CryptoError):
    """A signature does not verify under the given public key."""


class WeakKdfParameters(CryptoError):
    """The server offered Argon2 parameters below the client's floor."""


# --------------------------------------------------------------------------
# Small helpers


def random_key() -> bytes:
    return nacl.utils.random(KEY_BYTES)


def random_bytes(n: int) -> bytes:
    return nacl.utils.random(n)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(src: BinaryIO, sink=None, chunk: int = 1024 * 1024) -> tuple[str, int]:
    """SHA-256 (hex) and length of what `src` yields to its end; `sink`, if given, gets every piece."""
    digest, size = hashlib.sha256(), 0
    while piece := src.read(chunk):
        digest.update(piece)
        size += len(piece)
        if sink is not None:
            sink(piece)
    return digest.hexdigest(), size


def b64e(data: bytes) -> str:
    """Standard base64 with padding, as every JSON field of the vault carries bytes."""
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    """Strict inverse of `b64e`: anything but canonical base64 raises ValueError."""
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(text, validate=True)


def canonical_json(obj: object) -> bytes:
    """Deterministic JSON for hashing server-side records (the audit chain)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blake2b_keyed(key: bytes, person: bytes, data: bytes = b"", size: int = 32) -> bytes:
    return nacl.hash.blake2b(
        data, digest_size=size, key=key, person=person, encoder=nacl.encoding.RawEncoder
    )


def blake2b_hex(data: bytes, person: bytes = b"vault-audit") -> str:
    return nacl.hash.blake2b(data, digest_size=32, person=person).decode()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# --------------------------------------------------------------------------
# Password → keys (client side)


def check_kdf_params(params: dict) -> dict:
    """Validate Argon2id parameters received from the server.

    Raises WeakKdfParameters below the production floor, unless
    VAULT_INSECURE_TEST_KDF=1 (test suite only).
    """
    if not isinstance(params, dict) or params.get("alg") != "argon2id13":
        raise WeakKdfParameters("unknown key-derivation algorithm")
    ops, mem = params.get("ops"), params.get("mem")
    if not isinstance(ops, int) or not isinstance(mem, int):
        raise WeakKdfParameters("key-derivation parameters must be integers")
    floor = KDF_TEST_ONLY if os.environ.get(_TEST_KDF_ENV) == "1" else KDF_PRODUCTION
    if ops < floor["ops"] or mem < floor["mem"]:
        raise WeakKdfParameters(
            f"the server asked for Argon2id ops={ops} mem={mem}, below the minimum "
            f"ops={floor['ops']} mem={floor['mem']}; refusing to derive a weak key"
        )
    if ops > 20 or mem > 1024 * 1024 * 1024:
        raise WeakKdfParameters("key-derivation parameters are implausibly large")
    return params


def derive_master_key(password: str, salt: bytes, params: dict) -> bytes:
    check_kdf_params(params)
    if len(salt) != SALT_BYTES:
        raise CryptoError("salt must be 16 bytes")
    # NFC: "ө" typed on a Kyrgyz keyboard and "ө" pasted from a document can be
    # different code points; the same password must give the same key everywhere.
    password = unicodedata.normalize("NFC", password)
    return nacl.pwhash.argon2id.kdf(
        KEY_BYTES, password.encode("utf-8"), salt, opslimit=params["ops"], memlimit=params["mem"]
    )


def auth_key(master_key: bytes) -> bytes:
    """What the client sends to log in; the server stores only a slow hash of it."""
    return blake2b_keyed(master_key, b"vault-auth")


def key_encryption_key(master_key: bytes) -> bytes:
    return blake2b_keyed(master_key, b"vault-kek")


# Server side of the login proof. auth_key is 256 random-looking bits, so
# the slow hash is defence in depth against a stolen database, not the only
# barrier; its cost is a server setting (cheap in tests).


def hash_auth_key(auth: bytes, ops: int, mem: int) -> str:
    return nacl.pwhash.argon2id.str(auth, opslimit=ops, memlimit=mem).decode()


def verify_auth_key(stored: str, auth: bytes) -> bool:
    try:
        return nacl.pwhash.argon2id.verify(stored.encode(), auth)
    except nacl.exceptions.InvalidkeyError:
        return False
    except nacl.exceptions.CryptoError:
        return False


def fake_salt(server_secret: bytes, username: str) -> bytes:
    """Deterministic salt for unknown names, so prelogin reveals no accounts."""
    return blake2b_keyed(server_secret, b"vault-fakesalt", username.lower().encode(), SALT_BYTES)


def name_tag(server_secret: bytes, name: str, ops: int, mem: int) -> str:
    """16 hex digits that stand for a sign-in name with no account, in the audit log and the throttle.

    What people type as a name is sometimes their password. A raid takes the
    server secret with the database, so a fast keyed hash would let it test
    guesses at hash speed; Argon2id with the server's own auth-hash cost makes
    each guess as dear as one against a stored auth hash. It also replaces the
    dummy hash an unknown name used to cost, so both paths still cost the same.
    """
    salt = blake2b_keyed(server_secret, b"vault-login-name", size=SALT_BYTES)
    out = nacl.pwhash.argon2id.kdf(16, name.encode("utf-8"), salt, opslimit=ops, memlimit=mem)
    return out[:8].hex()


# --------------------------------------------------------------------------
# User key pairs


@dataclass(frozen=True)
class UserKeys:
    """A user's private keys: X25519 to receive sealed keys, Ed25519 to sign."""

    box_secret: bytes  # X25519 secret key, 32 bytes
    sign_seed: bytes  # Ed25519 seed, 32 bytes

    @classmethod
    def generate(cls) -> UserKeys:
        return cls(
            bytes(nacl.public.PrivateKey.generate()), nacl.utils.random(32)
        )

    @property
    def box_public(self) -> bytes:
        return bytes(nacl.public.PrivateKey(self.box_secret).public_key)

    @property
    def sign_public(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.sign_seed).verify_key)

    def sign(self, message: bytes) -> bytes:
        return nacl.signing.SigningKey(self.sign_seed).sign(message).signature

    def open_sealed(self, sealed: bytes) -> bytes:
        return unseal(self.box_secret, sealed)


def _user_keys_ad(username: str) -> bytes:
    return f"vault-user-keys-v1|{username}".encode()


def encrypt_user_keys(kek: bytes, username: str, keys: UserKeys) -> bytes:
    return aead_encrypt(kek, keys.box_secret + keys.sign_seed, _user_keys_ad(username))


def decrypt_user_keys(kek: bytes, username: str, blob: bytes) -> UserKeys:
    raw = aead_decrypt(kek, blob, _user_keys_ad(username))
    if len(raw) != 64:
        raise DecryptionError("private key blob has the wrong length")
    return UserKeys(raw[:32], raw[32:])


def fingerprint(box_public: bytes, sign_public: bytes) -> str:
    """Six groups of five digits that two people compare in person."""
    h = blake2b_keyed(b"", b"vault-fpr", box_public + sign_public, 32)
    groups = [int.from_bytes(h[i * 4 : i * 4 + 4], "big") % 100000 for i in range(6)]
    return " ".join(f"{g:05d}" for g in groups)


# --------------------------------------------------------------------------
# Sealing (anonymous public-key encryption of keys)


def seal(recipient_box_public: bytes, message: bytes) -> bytes:
    return sodium.crypto_box_seal(message, recipient_box_public)


def unseal(box_secret: bytes, sealed: bytes) -> bytes:
    public = bytes(nacl.public.PrivateKey(box_secret).public_key)
    try:
        return sodium.crypto_box_seal_open(sealed, public, box_secret)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("this key cannot open the sealed box") from exc


def generate_box_keypair() -> tuple[bytes, bytes]:
    """(secret, public) X25519 pair — used for the organisation's recovery key."""
    sk = nacl.public.PrivateKey.generate()
    return bytes(sk), bytes(sk.public_key)


def box_public_from_secret(secret: bytes) -> bytes:
    return bytes(nacl.public.PrivateKey(secret).public_key)


# --------------------------------------------------------------------------
# AEAD envelopes


def aead_encrypt(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    nonce = nacl.utils.random(_NONCE_BYTES)
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    return bytes([ENVELOPE_VERSION]) + nonce + ct


def aead_decrypt(key: bytes, envelope: bytes, ad: bytes) -> bytes:
    if len(envelope) < 1 + _NONCE_BYTES + 16 or envelope[0] != ENVELOPE_VERSION:
        raise DecryptionError("not a vault envelope")
    nonce, ct = envelope[1 : 1 + _NONCE_BYTES], envelope[1 + _NONCE_BYTES :]
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, key)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("envelope does not open with this key and context") from exc


def item_key_ad(case_id: str, item_id: str, key_version: int) -> bytes:
    return f"vault-item-key-v1|{case_id}|{item_id}|{key_version}".encode()


def wrap_item_key(case_key: bytes, item_key: bytes, case_id: str, item_id: str, version: int) -> bytes:
    return aead_encrypt(case_key, item_key, item_key_ad(case_id, item_id, version))


def unwrap_item_key(case_key: bytes, wrapped: bytes, case_id: str, item_id: str, version: int) -> bytes:
    return aead_decrypt(case_key, wrapped, item_key_ad(case_id, item_id, version))


def case_key_check(case_key: bytes) -> str:
    """Public commitment to a case key (reveals nothing about it)."""
    return blake2b_keyed(case_key, b"vault-casekey").hex()


def case_key_message(case_id: str, version: int, check: str) -> bytes:
    return f"vault-case-key-v1|{case_id}|{version}|{check}".encode()


def manifest_ad(case_id: str, item_id: str) -> bytes:
    return f"vault-manifest-v1|{case_id}|{item_id}".encode()


# --------------------------------------------------------------------------
# Signatures


def sign_detached(sign_seed: bytes, message: bytes) -> bytes:
    return nacl.signing.SigningKey(sign_seed).sign(message).signature


def verify_detached(sign_public: bytes, message: bytes, signature: bytes) -> None:
    try:
        nacl.signing.VerifyKey(sign_public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise BadSignature("signature does not verify") from exc


def sign_public_from_seed(sign_seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(sign_seed).verify_key)


def receipt_message(
    item_id: str, case_id: str, key_version: int, ciphertext_sha256: str, manifest_sha256: str
) -> bytes:
    """The text an uploader signs so the server (and fsck) can check a stored blob."""
    return (
        f"vault-receipt-v1|{item_id}|{case_id}|{key_version}|"
        f"{ciphertext_sha256}|{manifest_sha256}"
    ).encode()


# --------------------------------------------------------------------------
# Manifests


def sealed_fields_ad(case_id: str, item_id: str) -> bytes:
    return f"vault-sealed-fields-v1|{case_id}|{item_id}".encode()


def seal_fields(item_key: bytes, fields: dict, case_id: str, item_id: str) -> tuple[bytes, str]:
    """Encrypt an item's sealed fields (victim, statement…); returns (envelope, sha256 of the envelope).

    The manifest carries only the hash, so the manifest can go into an
    export's custody annex without taking the sealed fields along. It is the
    hash of the *envelope*, not of the JSON: a hash of a short plaintext such
    as {"victim": "…"} could be confirmed by guessing names, the envelope's
    cannot (random nonce, secret key). The signature still pins the fields:
    under the item key one envelope opens to one plaintext.
    """
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    envelope = aead_encrypt(item_key, body, sealed_fields_ad(case_id, item_id))
    return envelope, sha256_hex(envelope)


def open_fields(item_key: bytes, envelope: bytes, case_id: str, item_id: str, expected_sha256: str) -> dict:
    if not hmac.compare_digest(sha256_hex(envelope), expected_sha256):
        raise IntegrityError("the sealed fields do not match the signed manifest")
    body = aead_decrypt(item_key, envelope, sealed_fields_ad(case_id, item_id))
    fields = json.loads(body)
    if not isinstance(fields, dict):
        raise IntegrityError("sealed fields are not an object")
    return fields


def seal_manifest(item_key: bytes, keys: UserKeys, manifest: dict, case_id: str, item_id: str) -> bytes:
    body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    return aead_encrypt(item_key, keys.sign(body) + body, manifest_ad(case_id, item_id))


def open_manifest(
    item_key: bytes, sealed: bytes, case_id: str, item_id: str, signer_public: bytes
) -> tuple[dict, bytes, bytes]:
    """Decrypt and verify a manifest. Returns (manifest, exact bytes, signature)."""
    raw = aead_decrypt(item_key, sealed, manifest_ad(case_id, item_id))
    if len(raw) < SIGNATURE_BYTES + 2:
        raise IntegrityError("manifest is too short")
    sig, body = raw[:SIGNATURE_BYTES], raw[SIGNATURE_BYTES:]
    verify_detached(signer_public, body, sig)
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        raise IntegrityError("manifest is not valid JSON") from exc
    if not isinstance(manifest, dict):
        raise IntegrityError("manifest is not an object")
    if manifest.get("item_id") != item_id or manifest.get("case_id") != case_id:
        raise IntegrityError("manifest names another item or case")
    return manifest, body, sig


# --------------------------------------------------------------------------
# Content streams


def stream_ciphertext_size(plaintext_size: int) -> int:
    chunks = max(1, -(-plaintext_size // CHUNK_SIZE))
    return STREAM_PREFIX_BYTES + plaintext_size + chunks * STREAM_ABYTES


def _read_full(f: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


class StreamEncryptor:
    """Encrypts a plaintext as a sequence of pushes; the caller feeds chunks.

    Feed exactly CHUNK_SIZE bytes per ``push`` except for the last call,
    which must be ``final`` (and may be shorter or empty).
    """

    def __init__(self, key: bytes):
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        self.prefix = STREAM_MAGIC + header
        self._done = False
        self._started = False

    def start_state(self) -> bytes:
        """The stream's state before its first chunk. Secret: it holds the stream's key.

        With it, `again` encrypts the same plaintext to the same bytes, which
        is how an upload goes on after the client was stopped
        (vault/client/resume.py). Only the state before any chunk is given
        out, so a stream can only ever be replayed from its start.
        """
        if self._started:
            raise CryptoError("the stream has started; its start state is gone")
        return bytes(_ffi.buffer(self._state.statebuf))

    @classmethod
    def again(cls, prefix: bytes, start_state: bytes) -> StreamEncryptor:
        """The encryptor `start_state` came from, as it was before its first chunk."""
        size = len(_ffi.buffer(sodium.crypto_secretstream_xchacha20poly1305_state().statebuf))
        if len(start_state) != size or len(prefix) != STREAM_PREFIX_BYTES or not prefix.startswith(STREAM_MAGIC):
            raise CryptoError("not a saved stream state")
        enc = cls.__new__(cls)
        enc._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        _ffi.memmove(enc._state.statebuf, start_state, size)
        enc.prefix = prefix
        enc._done = False
        enc._started = False
        return enc

    def push(self, chunk: bytes, final: bool = False) -> bytes:
        if self._done:
            raise CryptoError("stream already finalised")
        if not final and len(chunk) != CHUNK_SIZE:
            raise CryptoError("non-final chunks must be exactly CHUNK_SIZE bytes")
        if len(chunk) > CHUNK_SIZE:
            raise CryptoError("chunk too large")
        self._done = final
        self._started = True
        tag = _TAG_FINAL if final else _TAG_MESSAGE
        return sodium.crypto_secretstream_xchacha20poly1305_push(self._state, chunk, None, tag)

    def push_block(self, plain: bytes, final: bool) -> bytearray:
        """Encrypt `plain` as consecutive CHUNK_SIZE chunks (the last may be short or
        empty only if `final`); the prefix goes in front of the first block.

        Calls libsodium through PyNaCl's cffi module directly, from the read
        buffer into one output buffer: the binding's per-chunk checks and
        copies cost a fifth of the encryption's time.
        """
        if self._done:
            raise CryptoError("stream already finalised")
        n = len(plain)
        if not final and (n == 0 or n % CHUNK_SIZE):
            raise CryptoError("a non-final block must be whole chunks")
        count = max(1, -(-n // CHUNK_SIZE))
        head = b"" if self._started else self.prefix
        out = bytearray(len(head) + n + count * STREAM_ABYTES)
        out[: len(head)] = head
        src = _ffi.from_buffer(plain)
        dst = _ffi.from_buffer(out, require_writable=True)
        state = self._state.statebuf
        pos, off = 0, len(head)
        for i in range(count):
            mlen = min(CHUNK_SIZE, n - pos)
            tag = _TAG_FINAL if final and i == count - 1 else _TAG_MESSAGE
            rc = _lib.crypto_secretstream_xchacha20poly1305_push(
                state, dst + off, _ffi.NULL, src + pos, mlen, _ffi.NULL, 0, tag)
            if rc != 0:
                raise CryptoError("encryption failed")
            pos += mlen
            off += mlen + STREAM_ABYTES
        self._started = True
        self._done = final
        return out


def encrypt_chunks(key: bytes, plaintext: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """Yield (plaintext_chunk, ciphertext_piece); the first piece includes the prefix.

    Reads one chunk ahead so the last chunk can carry TAG_FINAL.
    """
    enc = StreamEncryptor(key)
    current = _read_full(plaintext, CHUNK_SIZE)
    first = True
    while True:
        nxt = _read_full(plaintext, CHUNK_SIZE) if len(current) == CHUNK_SIZE else b""
        final = not nxt
        piece = enc.push(current, final=final)
        if first:
            piece = enc.prefix + piece
            first = False
        yield current, piece
        if final:
            return
        current = nxt


def encrypt_blocks(key: bytes, plaintext: BinaryIO, records: int = 16,
                   encryptor: StreamEncryptor | None = None) -> Iterator[tuple[bytes, bytearray]]:
    """The stream of ``encrypt_chunks`` in blocks of `records` chunks.

    Yields (plaintext block, its ciphertext); the first block's ciphertext
    starts with the prefix. Same bytes as encrypt_chunks, but each block is
    encrypted straight from the read buffer into one output buffer (no
    per-chunk copies, one call per chunk with the GIL released), and 1 MiB
    rather than 64 KiB goes between the upload's threads.
    """
    if records < 1:
        raise CryptoError("records must be at least 1")
    enc = encryptor or StreamEncryptor(key)
    block = records * CHUNK_SIZE
    current = _read_full(plaintext, block)
    while True:
        nxt = _read_full(plaintext, block) if len(current) == block else b""
        final = not nxt
        yield current, enc.push_block(current, final)
        if final:
            return
        current = nxt


class StreamDecryptor:
    """Incremental decryption; feed ciphertext in any piece sizes.

    ``feed`` returns the plaintext available so far; ``finish`` raises
    IntegrityError if the stream ended without its final tag.
    """

    def __init__(self, key: bytes):
        self._key = key
        self._state = None
        self._buf = bytearray()
        self._finished = False

    def feed(self, data: bytes) -> bytes:
        if self._finished and data:
            raise IntegrityError("data after the end of the stream: the file was extended")
        self._buf += data
        out = []
        if self._state is None:
            if len(self._buf) < STREAM_PREFIX_BYTES:
                return b""
            if bytes(self._buf[:4]) != STREAM_MAGIC:
                raise IntegrityError("not a vault content stream")
            header = bytes(self._buf[4:STREAM_PREFIX_BYTES])
            self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, self._key)
            del self._buf[:STREAM_PREFIX_BYTES]
        full = CHUNK_SIZE + STREAM_ABYTES
        # Every record is full-size except the last, so any full-size prefix
        # of the buffer is a record; a shorter remainder waits for finish().
        while len(self._buf) >= full:
            out.append(self._pull(bytes(self._buf[:full])))
            del self._buf[:full]
            if self._finished and self._buf:
                raise IntegrityError("data after the end of the stream: the file was extended")
        return b"".join(out)

    def _pull(self, record: bytes) -> bytes:
        if self._finished:
            raise IntegrityError("data after the end of the stream: the file was extended")
        try:
            msg, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(self._state, record, None)
        except nacl.exceptions.CryptoError as exc:
            raise IntegrityError("the encrypted file was altered or is corrupt") from exc
        if tag == _TAG_FINAL:
            self._finished = True
        elif tag != _TAG_MESSAGE:
            raise IntegrityError("unexpected stream tag")
        return msg

    def finish(self) -> bytes:
        if self._state is None:
            raise IntegrityError("the encrypted file is truncated (no header)")
        out = b""
        if self._buf:
            out = self._pull(bytes(self._buf))
            self._buf.clear()
        if not self._finished:
            raise IntegrityError("the encrypted file is truncated (no final chunk)")
        return out


def decrypt_stream(key: bytes, pieces: Iterable[bytes]) -> Iterator[bytes]:
    dec = StreamDecryptor(key)
    for piece in pieces:
        out = dec.feed(piece)
        if out:
            yield out
    tail = dec.finish()
    if tail:
        yield tail


# --------------------------------------------------------------------------
# Trust from people (docs/trust.md): the organisation root, invitations,
# signed statements. The structures built on these live in vault/domain/trust.py.


def root_sign_seed(kit_secret: bytes) -> bytes:
    """The organisation root's Ed25519 seed, derived from the paper kit's secret.

    One paper kit thus holds both the recovery key (X25519, the kit secret
    itself) and the root that certifies the organisation's admins.
    """
    return blake2b_keyed(kit_secret, b"vault-root-sign")


def org_fingerprint(recovery_public: bytes, root_sign_public: bytes) -> str:
    """The organisation's fingerprint: one number covering its recovery key and its root."""
    return fingerprint(recovery_public, root_sign_public)


def invitation_secret(issuer_sign_seed: bytes, invitation_id: str, role: str) -> bytes:
    """The one-time secret of an invitation, re-derived by its issuer instead of stored.

    It travels to the invitee out of band (the code or the link's fragment);
    the server never receives it. The role is part of the derivation, so a
    server that changes an invitation's role breaks the binding.
    """
    return blake2b_keyed(issuer_sign_seed, b"vault-invite", f"{invitation_id}|{role}".encode(), 16)


def invitation_binding(secret: bytes, username: str, box_public: bytes, sign_public: bytes) -> bytes:
    """The newcomer's proof that these public keys are the ones made with this invitation."""
    message = f"vault-invite-bind-v1|{username}|{b64e(box_public)}|{b64e(sign_public)}".encode()
    return blake2b_keyed(secret, b"vault-inv-bind", message)


def statement_message(kind: str, payload: str) -> bytes:
    """What a signed statement's signature covers: its kind, then the exact payload text."""
    return f"vault-{kind}-v1\n".encode() + payload.encode("utf-8")


def statement_hash(signature: bytes, payload: str) -> str:
    """The identifier of a signed statement (a membership entry's link to its predecessor)."""
    return blake2b_keyed(b"", b"vault-chain", signature + payload.encode("utf-8")).hex()


# --------------------------------------------------------------------------
# Server signing key (audit checkpoints)


def generate_sign_seed() -> bytes:
    return nacl.utils.random(32)
