"""The crypto module on its own: streams, envelopes, manifests, KDF floors, fingerprints."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets

import pytest

from vault import crypto

CHUNK = crypto.CHUNK_SIZE
RECORD = CHUNK + crypto.STREAM_ABYTES
PREFIX = crypto.STREAM_PREFIX_BYTES
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 1024 * 1024 + 3]


def encrypt(key: bytes, data: bytes) -> bytes:
    return b"".join(piece for _, piece in crypto.encrypt_chunks(key, io.BytesIO(data)))


def decrypt(key: bytes, ct: bytes, piece: int = 10_000) -> bytes:
    return b"".join(crypto.decrypt_stream(key, (ct[i:i + piece] for i in range(0, len(ct), piece))))


def records(ct: bytes) -> list[bytes]:
    body = ct[PREFIX:]
    return [body[i:i + RECORD] for i in range(0, len(body), RECORD)]


@pytest.fixture(scope="module")
def big():
    key = crypto.random_key()
    data = os.urandom(3 * CHUNK + 100)
    return key, data, encrypt(key, data)


# --------------------------------------------------------------------------- streams


@pytest.mark.parametrize("size", SIZES)
def test_stream_roundtrip(size):
    key = crypto.random_key()
    data = os.urandom(size)
    pairs = list(crypto.encrypt_chunks(key, io.BytesIO(data)))
    assert b"".join(p for p, _ in pairs) == data
    ct = b"".join(c for _, c in pairs)
    assert len(ct) == crypto.stream_ciphertext_size(size)
    assert ct.startswith(crypto.STREAM_MAGIC)
    for piece in (1, 4096, RECORD, RECORD + 1, len(ct) or 1):
        assert decrypt(key, ct, piece) == data
    # A fresh key and header every time: the same plaintext never gives the same ciphertext.
    assert encrypt(key, data) != ct


def test_truncation_at_every_boundary_and_mid_record(big):
    key, _, ct = big
    cuts = {0, 1, 3, 4, PREFIX - 1, PREFIX, PREFIX + 1}
    for i in range(1, len(records(ct)) + 1):
        end = PREFIX + i * RECORD
        cuts |= {end - 1, end, end + 1, end - RECORD // 2}
    cuts = {c for c in cuts if 0 <= c < len(ct)}
    assert len(cuts) > 15
    for cut in sorted(cuts):
        with pytest.raises(crypto.IntegrityError):
            decrypt(key, ct[:cut])


def test_truncated_to_whole_records_of_a_chunk_multiple():
    key = crypto.random_key()
    data = os.urandom(2 * CHUNK)  # every record is full size, the last one carries the final tag
    ct = encrypt(key, data)
    assert len(records(ct)) == 2 and len(records(ct)[-1]) == RECORD
    assert decrypt(key, ct) == data
    with pytest.raises(crypto.IntegrityError):
        decrypt(key, ct[:PREFIX + RECORD])


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1])
def test_appended_bytes_are_detected(size):
    key = crypto.random_key()
    ct = encrypt(key, os.urandom(size))
    for extra in (b"\x00", os.urandom(17), os.urandom(RECORD)):
        with pytest.raises(crypto.IntegrityError):
            decrypt(key, ct + extra)
    # Appending a whole valid stream (or one of its records) is caught too.
    with pytest.raises(crypto.IntegrityError):
        decrypt(key, ct + ct[PREFIX:])


def test_flipped_bytes_are_detected(big):
    key, _, ct = big
    positions = {
        "magic": 0, "header": 4, "header end": PREFIX - 1,
        "first body": PREFIX, "mid record": PREFIX + RECORD // 2,
        "first tag": PREFIX + RECORD - 1, "second record": PREFIX + RECORD + 7,
        "last record": len(ct) - 20, "last tag": len(ct) - 1,
    }
    for name, pos in positions.items():
        bad = bytearray(ct)
        bad[pos] ^= 0x01
        with pytest.raises(crypto.IntegrityError):
            decrypt(key, bytes(bad))
        assert name


def test_swapped_and_repeated_records_are_detected(big):
    key, _, ct = big
    prefix, recs = ct[:PREFIX], records(ct)
    assert len(recs) == 4
    variants = [
        [recs[1], recs[0], recs[2], recs[3]],
        [recs[0], recs[2], recs[1], recs[3]],
        [recs[0], recs[0], recs[1], recs[2], recs[3]],
        [recs[0], recs[1], recs[3]],  # a middle record dropped
        [recs[0], recs[1], recs[2]],  # the final record dropped
    ]
    for v in variants:
        with pytest.raises(crypto.IntegrityError):
            decrypt(key, prefix + b"".join(v))
    # Records from another stream (another header) do not fit either.
    other = encrypt(key, os.urandom(3 * CHUNK + 100))
    with pytest.raises(crypto.IntegrityError):
        decrypt(key, prefix + records(other)[0] + b"".join(recs[1:]))


def test_wrong_key_or_other_stream(big):
    key, _, ct = big
    with pytest.raises(crypto.IntegrityError):
        decrypt(crypto.random_key(), ct)
    with pytest.raises(crypto.IntegrityError):
        decrypt(key, b"XXXX" + ct[4:])


def test_stream_encryptor_rules():
    enc = crypto.StreamEncryptor(crypto.random_key())
    with pytest.raises(crypto.CryptoError):
        enc.push(b"short")  # non-final chunks are full size
    with pytest.raises(crypto.CryptoError):
        enc.push(b"x" * (CHUNK + 1), final=True)
    enc.push(b"end", final=True)
    with pytest.raises(crypto.CryptoError):
        enc.push(b"more", final=True)


# --------------------------------------------------------------------------- envelopes


def test_item_key_envelope_is_bound_to_case_item_and_version():
    case_key, item_key = crypto.random_key(), crypto.random_key()
    case_id, item_id = secrets.token_hex(16), secrets.token_hex(16)
    wrapped = crypto.wrap_item_key(case_key, item_key, case_id, item_id, 1)
    assert crypto.unwrap_item_key(case_key, wrapped, case_id, item_id, 1) == item_key
    for c, i, v in ((secrets.token_hex(16), item_id, 1),   # moved to another case
                    (case_id, secrets.token_hex(16), 1),   # moved to another item
                    (case_id, item_id, 2),                 # claimed for another key version
                    (item_id, case_id, 1)):                # ids swapped
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_item_key(case_key, wrapped, c, i, v)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_item_key(crypto.random_key(), wrapped, case_id, item_id, 1)
    for bad in (wrapped[:-1], b"\x02" + wrapped[1:], b"", wrapped[:20],
                wrapped[:30] + bytes([wrapped[30] ^ 1]) + wrapped[31:]):
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_item_key(case_key, bad, case_id, item_id, 1)
    assert crypto.wrap_item_key(case_key, item_key, case_id, item_id, 1) != wrapped  # fresh nonce


def test_user_key_blob_is_bound_to_the_name_and_kek():
    keys = crypto.UserKeys.generate()
    kek = crypto.random_key()
    blob = crypto.encrypt_user_keys(kek, "aigul", keys)
    assert crypto.decrypt_user_keys(kek, "aigul", blob) == keys
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_user_keys(kek, "bakyt", blob)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_user_keys(crypto.random_key(), "aigul", blob)


def test_sealed_boxes():
    secret, public = crypto.generate_box_keypair()
    assert crypto.box_public_from_secret(secret) == public
    key = crypto.random_key()
    sealed = crypto.seal(public, key)
    assert crypto.unseal(secret, sealed) == key
    other, _ = crypto.generate_box_keypair()
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(other, sealed)
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(secret, sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_password_derivation_separates_keys():
    salt = os.urandom(crypto.SALT_BYTES)
    master = crypto.derive_master_key("pässwörd", salt, crypto.KDF_TEST_ONLY)
    assert master == crypto.derive_master_key("pässwörd", salt, crypto.KDF_TEST_ONLY)
    assert master != crypto.derive_master_key("pässwörd", os.urandom(crypto.SALT_BYTES), crypto.KDF_TEST_ONLY)
    assert master != crypto.derive_master_key("passwörd", salt, crypto.KDF_TEST_ONLY)
    # The same password typed composed or decomposed (ö = o + U+0308) is the same password.
    assert master == crypto.derive_master_key("pa\u0308sswo\u0308rd", salt, crypto.KDF_TEST_ONLY)
    auth, kek = crypto.auth_key(master), crypto.key_encryption_key(master)
    assert len(auth) == len(kek) == 32 and len({auth, kek, master}) == 3
    with pytest.raises(crypto.CryptoError):
        crypto.derive_master_key("x", b"short", crypto.KDF_TEST_ONLY)
    stored = crypto.hash_auth_key(auth, 1, 8192)
    assert crypto.verify_auth_key(stored, auth)
    assert not crypto.verify_auth_key(stored, crypto.auth_key(os.urandom(32)))
    assert not crypto.verify_auth_key("garbage", auth)


# --------------------------------------------------------------------------- manifests and signatures


def _manifest(case_id: str, item_id: str) -> dict:
    return {"v": 1, "item_id": item_id, "case_id": case_id, "sha256": "0" * 64, "size": 3,
            "filename": "Фото побоев.jpg", "sealed": {"victim": "Name"}}


def test_manifest_roundtrip_and_forgery():
    keys, other = crypto.UserKeys.generate(), crypto.UserKeys.generate()
    item_key = crypto.random_key()
    case_id, item_id = secrets.token_hex(16), secrets.token_hex(16)
    sealed = crypto.seal_manifest(item_key, keys, _manifest(case_id, item_id), case_id, item_id)
    manifest, body, sig = crypto.open_manifest(item_key, sealed, case_id, item_id, keys.sign_public)
    assert manifest == _manifest(case_id, item_id)
    crypto.verify_detached(keys.sign_public, body, sig)
    # Signed by someone else, checked against the uploader's key.
    forged = crypto.seal_manifest(item_key, other, _manifest(case_id, item_id), case_id, item_id)
    with pytest.raises(crypto.BadSignature):
        crypto.open_manifest(item_key, forged, case_id, item_id, keys.sign_public)
    # A valid signature over other bytes, spliced in.
    body2 = json.dumps({**_manifest(case_id, item_id), "size": 4}).encode()
    spliced = crypto.aead_encrypt(item_key, sig + body2, crypto.manifest_ad(case_id, item_id))
    with pytest.raises(crypto.BadSignature):
        crypto.open_manifest(item_key, spliced, case_id, item_id, keys.sign_public)
    # The wrong item key, or the envelope moved to another item.
    with pytest.raises(crypto.DecryptionError):
        crypto.open_manifest(crypto.random_key(), sealed, case_id, item_id, keys.sign_public)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_manifest(item_key, sealed, case_id, secrets.token_hex(16), keys.sign_public)


def test_manifest_naming_another_item_or_case():
    keys = crypto.UserKeys.generate()
    item_key = crypto.random_key()
    case_id, item_id = secrets.token_hex(16), secrets.token_hex(16)
    for manifest in (_manifest(case_id, secrets.token_hex(16)), _manifest(secrets.token_hex(16), item_id),
                     {k: v for k, v in _manifest(case_id, item_id).items() if k != "item_id"}):
        # Correctly signed and sealed for this item, but its content names another.
        sealed = crypto.seal_manifest(item_key, keys, manifest, case_id, item_id)
        with pytest.raises(crypto.IntegrityError):
            crypto.open_manifest(item_key, sealed, case_id, item_id, keys.sign_public)
    for body in (b"[1, 2]", b"not json at all"):
        sealed = crypto.aead_encrypt(item_key, keys.sign(body) + body, crypto.manifest_ad(case_id, item_id))
        with pytest.raises(crypto.IntegrityError):
            crypto.open_manifest(item_key, sealed, case_id, item_id, keys.sign_public)


def test_signatures_and_receipts():
    keys = crypto.UserKeys.generate()
    msg = crypto.receipt_message("i" * 32, "c" * 32, 1, "a" * 64, "b" * 64)
    sig = keys.sign(msg)
    crypto.verify_detached(keys.sign_public, msg, sig)
    for pub, m, s in ((crypto.UserKeys.generate().sign_public, msg, sig),
                      (keys.sign_public, crypto.receipt_message("i" * 32, "c" * 32, 2, "a" * 64, "b" * 64), sig),
                      (keys.sign_public, msg, sig[:-1] + bytes([sig[-1] ^ 1])),
                      (keys.sign_public, msg, sig[:63]),
                      (b"short", msg, sig)):
        with pytest.raises(crypto.BadSignature):
            crypto.verify_detached(pub, m, s)
    seed = os.urandom(32)
    assert crypto.sign_public_from_seed(seed) == crypto.UserKeys(os.urandom(32), seed).sign_public
    crypto.verify_detached(crypto.sign_public_from_seed(seed), msg, crypto.sign_detached(seed, msg))


def test_case_key_commitment():
    k = crypto.random_key()
    check = crypto.case_key_check(k)
    assert re.fullmatch(r"[0-9a-f]{64}", check)
    assert check == crypto.case_key_check(k) != crypto.case_key_check(crypto.random_key())
    assert crypto.case_key_message("c", 1, check) != crypto.case_key_message("c", 2, check)


# --------------------------------------------------------------------------- KDF floor, fake salts, fingerprints


def test_kdf_floor_without_the_test_flag(monkeypatch):
    monkeypatch.delenv("VAULT_INSECURE_TEST_KDF", raising=False)
    with pytest.raises(crypto.WeakKdfParameters):
        crypto.check_kdf_params(dict(crypto.KDF_TEST_ONLY))
    with pytest.raises(crypto.WeakKdfParameters):
        crypto.derive_master_key("pw", os.urandom(16), dict(crypto.KDF_TEST_ONLY))
    prod = dict(crypto.KDF_PRODUCTION)
    assert crypto.check_kdf_params(prod) == prod
    for weak in ({**prod, "ops": prod["ops"] - 1}, {**prod, "mem": prod["mem"] - 1},
                 {**prod, "alg": "argon2i13"}, {**prod, "ops": "3"}, {**prod, "mem": 1.0 * prod["mem"]},
                 {"ops": 3, "mem": prod["mem"]}, {**prod, "ops": 21}, {**prod, "mem": 2 * 1024 ** 3},
                 None, [], "argon2id13"):
        with pytest.raises(crypto.WeakKdfParameters):
            crypto.check_kdf_params(weak)
    # Any other value of the flag is not the flag.
    monkeypatch.setenv("VAULT_INSECURE_TEST_KDF", "yes")
    with pytest.raises(crypto.WeakKdfParameters):
        crypto.check_kdf_params(dict(crypto.KDF_TEST_ONLY))


def test_kdf_floor_with_the_test_flag(monkeypatch):
    monkeypatch.setenv("VAULT_INSECURE_TEST_KDF", "1")
    assert crypto.check_kdf_params(dict(crypto.KDF_TEST_ONLY))
    with pytest.raises(crypto.WeakKdfParameters):
        crypto.check_kdf_params({**crypto.KDF_TEST_ONLY, "ops": 0})


def test_fake_salt_is_deterministic():
    secret = os.urandom(32)
    a = crypto.fake_salt(secret, "nobody")
    assert len(a) == crypto.SALT_BYTES
    assert a == crypto.fake_salt(secret, "nobody") == crypto.fake_salt(secret, "NoBody")
    assert a != crypto.fake_salt(secret, "nobody2")
    assert a != crypto.fake_salt(os.urandom(32), "nobody")  # keyed: another server, other salts


def test_fingerprint_format():
    box, sign = os.urandom(32), os.urandom(32)
    fp = crypto.fingerprint(box, sign)
    assert re.fullmatch(r"\d{5}( \d{5}){5}", fp), fp
    assert fp == crypto.fingerprint(box, sign)
    assert fp != crypto.fingerprint(os.urandom(32), sign)
    assert fp != crypto.fingerprint(box, os.urandom(32))
    assert re.fullmatch(r"\d{5}( \d{5}){5}", crypto.fingerprint(box, b""))
    prints = {crypto.fingerprint(os.urandom(32), os.urandom(32)) for _ in range(200)}
    assert len(prints) == 200


def test_sealed_fields_are_named_by_their_envelope_not_their_json():
    key, fields = crypto.random_key(), {"victim": "Асан Үсөнов"}
    envelope, sha = crypto.seal_fields(key, fields, "c" * 32, "d" * 32)
    # Nobody holding only a manifest can confirm a guessed name: the hash is of a random-nonce ciphertext.
    guess = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    assert sha == hashlib.sha256(envelope).hexdigest() != hashlib.sha256(guess).hexdigest()
    assert crypto.seal_fields(key, fields, "c" * 32, "d" * 32)[1] != sha
    assert crypto.open_fields(key, envelope, "c" * 32, "d" * 32, sha) == fields
    flipped = bytes([envelope[0] ^ 1]) + envelope[1:]
    with pytest.raises(crypto.IntegrityError):
        crypto.open_fields(key, flipped, "c" * 32, "d" * 32, sha)
