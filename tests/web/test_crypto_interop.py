"""The browser's crypto (vault/static/js/crypto.js) against the reference (vault/crypto.py).

Node runs crypto.js (tests/web/js/interop.mjs); the two sides exchange keys,
envelopes and files and each opens what the other wrote, byte for byte.
The setup runs scripts/build-assets (npm ci + copy into vault/static/vendor),
so the test exercises the very files the web app serves. Skipped only when
`node` is not installed or vault/static/vendor cannot be built; under CI
(CI set) those are failures, not skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vault import crypto

ROOT = Path(__file__).resolve().parents[2]
NODE_DRIVER = ROOT / "tests" / "web" / "js" / "interop.mjs"
BUILD_ASSETS = ROOT / "scripts" / "build-assets"
VENDOR = ROOT / "vault" / "static" / "vendor"
VENDOR_FILES = ("libsodium-wrappers-sumo.mjs", "libsodium-sumo.mjs")
MiB = 1024 * 1024
CHUNK = crypto.CHUNK_SIZE
RECORD = CHUNK + crypto.STREAM_ABYTES
TEST_KDF = dict(crypto.KDF_TEST_ONLY)
STREAM_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * MiB + 17]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must not skip the browser crypto interop tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def build():
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed: cannot run vault/static/js/crypto.js")
    proc = subprocess.run(
        ["bash", str(BUILD_ASSETS)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if not all((VENDOR / name).is_file() for name in VENDOR_FILES):
        _unavailable(
            "vault/static/vendor is missing and scripts/build-assets could not build it:\n"
            + proc.stdout[-2000:]
            + proc.stderr[-2000:]
        )
    return {"node": node, "proc": proc}


@pytest.fixture(scope="module")
def js(build):
    """Run ops in one Node process; returns the list of results."""

    def run(*ops: dict) -> list[dict]:
        proc = subprocess.run(
            [build["node"], str(NODE_DRIVER)],
            input=json.dumps({"ops": list(ops)}),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"node failed:\n{proc.stderr}"
        return json.loads(proc.stdout)["results"]

    return run


def ok(result: dict):
    assert "error" not in result, f"JS raised {result['error']}"
    return result["ok"]


def err(result: dict) -> str:
    assert "error" in result, f"JS did not raise; returned {result.get('ok')!r}"
    return result["error"]["name"]


def h(b: bytes) -> str:
    return b.hex()


@pytest.fixture
def insecure_test_kdf(monkeypatch):
    monkeypatch.setenv("VAULT_INSECURE_TEST_KDF", "1")


# --------------------------------------------------------------------------
# The build


def test_build_assets_succeeds_and_serves_only_registry_code(build):
    proc = build["proc"]
    assert proc.returncode == 0, f"scripts/build-assets failed:\n{proc.stdout}\n{proc.stderr}"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for path, pkg in lock["packages"].items():
        if path:
            assert pkg["resolved"].startswith("https://registry.npmjs.org/"), path
            assert pkg["integrity"].startswith("sha512-"), path
    # What is served is what was hashed, and the wrapper imports its sibling, not a bare name.
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    wrapper = (VENDOR / "libsodium-wrappers-sumo.mjs").read_text()
    assert 'from"./libsodium-sumo.mjs"' in wrapper
    assert 'from"libsodium-sumo"' not in wrapper
    # No eval-like constructs for the CSP to block (wasm needs only 'wasm-unsafe-eval').
    for name in VENDOR_FILES:
        text = (VENDOR / name).read_text()
        assert "eval(" not in text and "new Function" not in text, name


# --------------------------------------------------------------------------
# Password → keys


# The last but one is "пароль-ёй" decomposed (е + U+0308, и + U+0306): both sides must NFC-normalise.
PASSWORDS = ["correct horse battery staple", "Кыйноого каршы ңөү 2024", "пароль-ёй", "🔐 ключ",
             "пароль-е\u0308и\u0306", ""]


def test_master_auth_and_kek_are_equal(js, insecure_test_kdf):
    salt = crypto.random_bytes(crypto.SALT_BYTES)
    results = js(
        *[
            {"op": "kdf", "password": pw, "salt": h(salt), "params": TEST_KDF, "allow_test_kdf": True}
            for pw in PASSWORDS
        ]
    )
    for pw, result in zip(PASSWORDS, results, strict=True):
        master = crypto.derive_master_key(pw, salt, TEST_KDF)
        got = ok(result)
        assert got["master"] == h(master), pw
        assert got["auth"] == h(crypto.auth_key(master)), pw
        assert got["kek"] == h(crypto.key_encryption_key(master)), pw


KDF_CASES = [
    {"alg": "argon2id13", "ops": 3, "mem": 64 * MiB},
    {"alg": "argon2id13", "ops": 2, "mem": 64 * MiB},
    {"alg": "argon2id13", "ops": 3, "mem": 64 * MiB - 1},
    {"alg": "argon2id13", "ops": 1, "mem": 8 * MiB},
    {"alg": "argon2id13", "ops": 0, "mem": 8 * MiB},
    {"alg": "argon2id13", "ops": 1, "mem": 4 * MiB},
    {"alg": "argon2id13", "ops": 21, "mem": 64 * MiB},
    {"alg": "argon2id13", "ops": 3, "mem": 1024 * MiB + 1},
    {"alg": "argon2i13", "ops": 3, "mem": 64 * MiB},
    {"alg": "argon2id13", "ops": "3", "mem": 64 * MiB},
    {"ops": 3, "mem": 64 * MiB},
]


@pytest.mark.parametrize("test_mode", [False, True], ids=["production", "test-only"])
def test_kdf_parameter_floor_matches_python(js, monkeypatch, test_mode):
    if test_mode:
        monkeypatch.setenv("VAULT_INSECURE_TEST_KDF", "1")
    else:
        monkeypatch.delenv("VAULT_INSECURE_TEST_KDF", raising=False)
    results = js(*[{"op": "check_kdf", "params": p, "allow_test_kdf": test_mode} for p in KDF_CASES])
    for params, result in zip(KDF_CASES, results, strict=True):
        try:
            crypto.check_kdf_params(params)
            python = "accepted"
        except crypto.WeakKdfParameters:
            python = "WeakKdfParameters"
        javascript = "accepted" if "ok" in result else err(result)
        assert javascript == python, params
    # And the derivation itself refuses weak parameters without the test flag.
    (refused,) = js(
        {"op": "kdf", "password": "pw", "salt": h(bytes(16)), "params": TEST_KDF, "allow_test_kdf": False}
    )
    assert err(refused) == "WeakKdfParameters"


# --------------------------------------------------------------------------
# User keys, fingerprints, sealing, item keys


def test_user_keys_open_on_the_other_side(js):
    kek = crypto.random_key()
    py_keys = crypto.UserKeys.generate()
    py_blob = crypto.encrypt_user_keys(kek, "aida.k", py_keys)
    made_in_js, opened_in_js, wrong_name, fpr = js(
        {"op": "user_keys_new", "kek": h(kek), "username": "nurlan"},
        {"op": "user_keys_open", "kek": h(kek), "username": "aida.k", "blob": h(py_blob)},
        {"op": "user_keys_open", "kek": h(kek), "username": "aida", "blob": h(py_blob)},
        {"op": "fingerprint", "box_public": h(py_keys.box_public), "sign_public": h(py_keys.sign_public)},
    )
    # Python opens what JS made.
    made = ok(made_in_js)
    keys = crypto.decrypt_user_keys(kek, "nurlan", bytes.fromhex(made["blob"]))
    assert h(keys.box_secret) == made["box_secret"] and h(keys.sign_seed) == made["sign_seed"]
    assert h(keys.box_public) == made["box_public"] and h(keys.sign_public) == made["sign_public"]
    assert made["fingerprint"] == crypto.fingerprint(keys.box_public, keys.sign_public)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_user_keys(kek, "nurlan2", bytes.fromhex(made["blob"]))
    # JS opens what Python made, and refuses it under another user name.
    opened = ok(opened_in_js)
    assert opened["box_secret"] == h(py_keys.box_secret) and opened["sign_seed"] == h(py_keys.sign_seed)
    assert opened["box_public"] == h(py_keys.box_public) and opened["sign_public"] == h(py_keys.sign_public)
    assert err(wrong_name) == "DecryptionError"
    assert ok(fpr) == crypto.fingerprint(py_keys.box_public, py_keys.sign_public)
    assert len(ok(fpr)) == 35


def test_sealed_case_key_opens_on_the_other_side(js):
    py_secret, py_public = crypto.generate_box_keypair()
    case_key = crypto.random_key()
    sealed_in_py = crypto.seal(py_public, case_key)
    (js_pair,) = js({"op": "box_keypair"})
    js_pair = ok(js_pair)
    assert h(crypto.box_public_from_secret(bytes.fromhex(js_pair["secret"]))) == js_pair["public"]
    other_secret, _ = crypto.generate_box_keypair()
    sealed_in_js, opened_in_js, wrong_key = js(
        {"op": "seal", "public": h(py_public), "message": h(case_key)},
        {
            "op": "unseal",
            "secret": js_pair["secret"],
            "sealed": h(crypto.seal(bytes.fromhex(js_pair["public"]), case_key)),
        },
        {"op": "unseal", "secret": h(other_secret), "sealed": h(sealed_in_py)},
    )
    assert crypto.unseal(py_secret, bytes.fromhex(ok(sealed_in_js))) == case_key
    assert ok(opened_in_js) == h(case_key)
    assert err(wrong_key) == "DecryptionError"


def test_item_keys_unwrap_on_the_other_side(js):
    case_key, item_key = crypto.random_key(), crypto.random_key()
    ids = {"case_id": "KG-2024-017", "item_id": "6f1c0a2e-item", "version": 3}
    wrapped_in_py = crypto.wrap_item_key(case_key, item_key, ids["case_id"], ids["item_id"], ids["version"])
    base = {"case_key": h(case_key)}
    wrapped_in_js, unwrapped_in_js, wrong_version, wrong_item, wrong_case_key = js(
        {"op": "wrap", **base, "item_key": h(item_key), **ids},
        {"op": "unwrap", **base, "wrapped": h(wrapped_in_py), **ids},
        {"op": "unwrap", **base, "wrapped": h(wrapped_in_py), **ids, "version": 2},
        {"op": "unwrap", **base, "wrapped": h(wrapped_in_py), **ids, "item_id": "another-item"},
        {"op": "unwrap", "case_key": h(crypto.random_key()), "wrapped": h(wrapped_in_py), **ids},
    )
    wrapped = bytes.fromhex(ok(wrapped_in_js))
    assert wrapped[0] == 1 and len(wrapped) == 1 + 24 + 32 + 16
    assert (
        crypto.unwrap_item_key(case_key, wrapped, ids["case_id"], ids["item_id"], ids["version"]) == item_key
    )
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_item_key(case_key, wrapped, ids["case_id"], ids["item_id"], 4)
    assert ok(unwrapped_in_js) == h(item_key)
    assert err(wrong_version) == err(wrong_item) == err(wrong_case_key) == "DecryptionError"


# --------------------------------------------------------------------------
# Content streams


def _python_encrypt(key: bytes, src: Path, dst: Path) -> None:
    with src.open("rb") as f, dst.open("wb") as out:
        for _plain, piece in crypto.encrypt_chunks(key, f):
            out.write(piece)


def _python_decrypt(key: bytes, src: Path) -> bytes:
    def pieces():
        with src.open("rb") as f:
            while piece := f.read(100_003):  # deliberately not aligned to records
                yield piece

    return b"".join(crypto.decrypt_stream(key, pieces()))


# Blob slices read at a time: the default (1 MiB), one record, and a size that is not a power of two.
READ_SIZES = [None, CHUNK, 3 * CHUNK]


def test_js_encrypted_files_decrypt_in_python(js, tmp_path):
    key = crypto.random_key()
    cases, plains = [], {}
    for size in STREAM_SIZES:
        plains[size] = crypto.random_bytes(size)
        (tmp_path / f"{size}.bin").write_bytes(plains[size])
        cases += [(size, read) for read in READ_SIZES]
    ops = [
        {
            "op": "encrypt_file",
            "key": h(key),
            "in_path": str(tmp_path / f"{size}.bin"),
            "out_path": str(tmp_path / f"{size}.{read}.vlt"),
            "request_bytes": 1 * MiB + 3,
            "read_bytes": read,
        }
        for size, read in cases
    ]
    for (size, read), result in zip(cases, js(*ops), strict=True):
        got = ok(result)
        ct = (tmp_path / f"{size}.{read}.vlt").read_bytes()
        assert ct[:4] == b"VLT\x01"
        assert len(ct) == got["ciphertext_size"] == got["written"] == crypto.stream_ciphertext_size(size)
        assert got["size"] == size
        assert got["plaintext_sha256"] == hashlib.sha256(plains[size]).hexdigest()
        assert got["ciphertext_sha256"] == hashlib.sha256(ct).hexdigest()
        assert _python_decrypt(key, tmp_path / f"{size}.{read}.vlt") == plains[size], (size, read)


def test_python_encrypted_files_decrypt_in_js(js, tmp_path):
    key = crypto.random_key()
    ops, plains = [], {}
    for size in STREAM_SIZES:
        plains[size] = crypto.random_bytes(size)
        (tmp_path / f"{size}.bin").write_bytes(plains[size])
        _python_encrypt(key, tmp_path / f"{size}.bin", tmp_path / f"{size}.vlt")
        assert (tmp_path / f"{size}.vlt").stat().st_size == crypto.stream_ciphertext_size(size)
        # Once from a Blob in whole records, once from a stream in odd-sized pieces.
        for source, piece in (("blob", 16 * RECORD), ("stream", 70_001 if size > MiB else 977)):
            ops.append(
                {
                    "op": "decrypt_file",
                    "key": h(key),
                    "in_path": str(tmp_path / f"{size}.vlt"),
                    "out_path": str(tmp_path / f"{size}.{source}.out"),
                    "source": source,
                    "piece_bytes": piece,
                }
            )
    results = iter(js(*ops))
    for size in STREAM_SIZES:
        for source in ("blob", "stream"):
            got = ok(next(results))
            assert got["size"] == got["written"] == size
            assert got["plaintext_sha256"] == hashlib.sha256(plains[size]).hexdigest()
            assert (tmp_path / f"{size}.{source}.out").read_bytes() == plains[size], (size, source)
    sizes = js(*[{"op": "ciphertext_size", "size": s} for s in STREAM_SIZES + [10**12]])
    assert [ok(r) for r in sizes] == [crypto.stream_ciphertext_size(s) for s in STREAM_SIZES + [10**12]]


def test_interrupted_upload_resumes_without_reencrypting(js, tmp_path):
    key = crypto.random_key()
    plain = crypto.random_bytes(3 * MiB + 17)
    (tmp_path / "in.bin").write_bytes(plain)
    request = 512 * 1024 + 5
    (result,) = js(
        {
            "op": "encrypt_file",
            "key": h(key),
            "in_path": str(tmp_path / "in.bin"),
            "out_path": str(tmp_path / "out.vlt"),
            "request_bytes": request,
            # request 1: server got 1000 bytes; request 3: nothing; request 5: all but the last byte
            "drops": [
                {"request": 1, "keep": 1000},
                {"request": 3, "keep": 0},
                {"request": 5, "keep": request - 1},
            ],
        }
    )
    got = ok(result)
    assert got["resent"] == 3
    ct = (tmp_path / "out.vlt").read_bytes()
    assert len(ct) == crypto.stream_ciphertext_size(len(plain))
    assert got["ciphertext_sha256"] == hashlib.sha256(ct).hexdigest()
    assert got["plaintext_sha256"] == hashlib.sha256(plain).hexdigest()
    assert _python_decrypt(key, tmp_path / "out.vlt") == plain
    (misuse,) = js({"op": "stream_encryptor_misuse"})
    assert ok(misuse) == ["CryptoError"] * 3


# --------------------------------------------------------------------------
# Manifests, receipts, signatures


def _manifest(case_id: str, item_id: str) -> dict:
    return {
        "item_id": item_id,
        "case_id": case_id,
        "sha256": hashlib.sha256(b"photo").hexdigest(),
        "size": 5,
        "media_type": "image/jpeg",
        "original_name": "ИМГ_0042 кыйноо ң.jpg",
        "captured_at": "2024-03-08T10:15:00+06:00",
        "uploader": "aida.k",
        "notes": 'quote " backslash \\ newline \n tab \t nul \u0000 emoji 😀',
    }


def test_manifests_open_and_verify_on_the_other_side(js):
    case_id, item_id = "KG-2024-017", "item-0042"
    item_key = crypto.random_key()
    uploader = crypto.UserKeys.generate()
    manifest = _manifest(case_id, item_id)
    sealed_in_py = crypto.seal_manifest(item_key, uploader, manifest, case_id, item_id)
    base = {"item_key": h(item_key), "case_id": case_id, "item_id": item_id}
    sealed_in_js, opened_in_js = js(
        {
            "op": "seal_manifest",
            **base,
            "box_secret": h(uploader.box_secret),
            "sign_seed": h(uploader.sign_seed),
            "manifest": manifest,
        },
        {"op": "open_manifest", **base, "sealed": h(sealed_in_py), "signer_public": h(uploader.sign_public)},
    )
    sealed = bytes.fromhex(ok(sealed_in_js)["sealed"])
    assert ok(sealed_in_js)["sealed_sha256"] == hashlib.sha256(sealed).hexdigest()
    opened, body, sig = crypto.open_manifest(item_key, sealed, case_id, item_id, uploader.sign_public)
    assert opened == manifest
    # JS writes the same compact JSON as Python (not required - the signature covers the bytes - but true).
    assert body == json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    got = ok(opened_in_js)
    assert got["manifest"] == manifest
    _m, py_body, py_sig = crypto.open_manifest(item_key, sealed_in_py, case_id, item_id, uploader.sign_public)
    assert got["body"] == h(py_body) and got["signature"] == h(py_sig)
    # Opening under another item, or verifying against another key, fails.
    other = crypto.UserKeys.generate()
    wrong_item, wrong_signer = js(
        {
            "op": "open_manifest",
            **base,
            "item_id": "item-0043",
            "sealed": h(sealed_in_py),
            "signer_public": h(uploader.sign_public),
        },
        {"op": "open_manifest", **base, "sealed": h(sealed_in_py), "signer_public": h(other.sign_public)},
    )
    assert err(wrong_item) == "DecryptionError"
    assert err(wrong_signer) == "BadSignature"


def test_forged_manifests_are_refused_by_js(js):
    case_id, item_id = "KG-2024-017", "item-0042"
    item_key = crypto.random_key()
    uploader, forger = crypto.UserKeys.generate(), crypto.UserKeys.generate()
    body = json.dumps(_manifest(case_id, item_id), ensure_ascii=False, separators=(",", ":")).encode()
    ad = crypto.manifest_ad(case_id, item_id)
    good_sig = uploader.sign(body)
    flipped_sig = bytes([good_sig[0] ^ 1]) + good_sig[1:]
    altered_body = body.replace(b'"size":5', b'"size":6')
    # Someone holding the item key (another case member, or the server if it got it)
    # can re-seal; without the uploader's signing key they cannot sign.
    other_item_body = json.dumps(_manifest(case_id, "item-9999"), separators=(",", ":")).encode()
    forgeries = {
        "signed by another key": crypto.aead_encrypt(item_key, forger.sign(body) + body, ad),
        "flipped signature bit": crypto.aead_encrypt(item_key, flipped_sig + body, ad),
        "body altered after signing": crypto.aead_encrypt(item_key, good_sig + altered_body, ad),
        "zero signature": crypto.aead_encrypt(item_key, bytes(64) + body, ad),
    }
    ops = [
        {
            "op": "open_manifest",
            "item_key": h(item_key),
            "sealed": h(sealed),
            "case_id": case_id,
            "item_id": item_id,
            "signer_public": h(uploader.sign_public),
        }
        for sealed in forgeries.values()
    ]
    # Validly signed, but naming another item than the one it is sealed for.
    ops.append(
        {
            **ops[0],
            "sealed": h(crypto.aead_encrypt(item_key, uploader.sign(other_item_body) + other_item_body, ad)),
        }
    )
    # And a tampered ciphertext.
    good = bytearray(crypto.seal_manifest(item_key, uploader, _manifest(case_id, item_id), case_id, item_id))
    good[40] ^= 0x80
    ops.append({**ops[0], "sealed": h(bytes(good))})
    results = js(*ops)
    for name, result in zip(forgeries, results, strict=False):
        assert err(result) == "BadSignature", name
        with pytest.raises(crypto.BadSignature):
            crypto.open_manifest(item_key, forgeries[name], case_id, item_id, uploader.sign_public)
    assert err(results[-2]) == "IntegrityError"
    assert err(results[-1]) == "DecryptionError"


def test_receipts_and_signatures_agree(js):
    keys = crypto.UserKeys.generate()
    args = (
        "item-0042",
        "KG-2024-017",
        3,
        hashlib.sha256(b"ct").hexdigest(),
        hashlib.sha256(b"mf").hexdigest(),
    )
    message = crypto.receipt_message(*args)
    py_sig = crypto.sign_detached(keys.sign_seed, message)
    receipt, js_sig, verified, forged, wrong_key, short_sig = js(
        {
            "op": "receipt",
            "item_id": args[0],
            "case_id": args[1],
            "version": args[2],
            "ciphertext_sha256": args[3],
            "manifest_sha256": args[4],
        },
        {"op": "sign", "sign_seed": h(keys.sign_seed), "message": h(message)},
        {"op": "verify", "sign_public": h(keys.sign_public), "message": h(message), "signature": h(py_sig)},
        {
            "op": "verify",
            "sign_public": h(keys.sign_public),
            "message": h(message + b"x"),
            "signature": h(py_sig),
        },
        {
            "op": "verify",
            "sign_public": h(crypto.UserKeys.generate().sign_public),
            "message": h(message),
            "signature": h(py_sig),
        },
        {
            "op": "verify",
            "sign_public": h(keys.sign_public),
            "message": h(message),
            "signature": h(py_sig[:63]),
        },
    )
    assert bytes.fromhex(ok(receipt)) == message
    sig = bytes.fromhex(ok(js_sig))
    assert sig == py_sig  # Ed25519 is deterministic: the very same signature
    crypto.verify_detached(keys.sign_public, message, sig)
    assert ok(verified) is True
    assert err(forged) == err(wrong_key) == err(short_sig) == "BadSignature"


# --------------------------------------------------------------------------
# Tampering, truncation, extension


def test_tampered_js_stream_is_refused_by_python(js, tmp_path):
    key = crypto.random_key()
    size = 2 * CHUNK + 100
    (tmp_path / "in.bin").write_bytes(crypto.random_bytes(size))
    (result,) = js(
        {
            "op": "encrypt_file",
            "key": h(key),
            "in_path": str(tmp_path / "in.bin"),
            "out_path": str(tmp_path / "ok.vlt"),
            "request_bytes": MiB,
        }
    )
    ok(result)
    ct = (tmp_path / "ok.vlt").read_bytes()
    prefix = crypto.STREAM_PREFIX_BYTES
    for pos in (
        0,
        3,
        4,
        prefix - 1,
        prefix,
        prefix + 1000,
        prefix + RECORD - 1,
        prefix + RECORD + 5,
        len(ct) - 1,
    ):
        bad = bytearray(ct)
        bad[pos] ^= 0x01
        (tmp_path / "bad.vlt").write_bytes(bytes(bad))
        with pytest.raises(crypto.IntegrityError):
            _python_decrypt(key, tmp_path / "bad.vlt")
    # Records swapped, and a wrong key, also fail.
    swapped = (
        ct[:prefix]
        + ct[prefix + RECORD : prefix + 2 * RECORD]
        + ct[prefix : prefix + RECORD]
        + ct[prefix + 2 * RECORD :]
    )
    (tmp_path / "bad.vlt").write_bytes(swapped)
    with pytest.raises(crypto.IntegrityError):
        _python_decrypt(key, tmp_path / "bad.vlt")
    with pytest.raises(crypto.IntegrityError):
        _python_decrypt(crypto.random_key(), tmp_path / "ok.vlt")


def test_truncated_extended_or_tampered_streams_are_refused_by_js(js, tmp_path):
    key = crypto.random_key()
    prefix = crypto.STREAM_PREFIX_BYTES
    variants: dict[str, bytes] = {}
    for size in (2 * CHUNK, 2 * CHUNK + 100, 0):
        (tmp_path / "in.bin").write_bytes(crypto.random_bytes(size))
        _python_encrypt(key, tmp_path / "in.bin", tmp_path / "ok.vlt")
        ct = (tmp_path / "ok.vlt").read_bytes()
        variants |= {
            f"{size}: empty file": b"",
            f"{size}: magic only": ct[:4],
            f"{size}: header only": ct[:prefix],
            f"{size}: cut inside the header": ct[: prefix - 1],
            f"{size}: last byte missing": ct[:-1],
            f"{size}: final record missing": ct[: prefix + RECORD] if size > CHUNK else ct[:prefix],
            f"{size}: cut inside a record": ct[: prefix + min(5000, len(ct) - prefix - 1)],
            f"{size}: cut to less than a tag": ct[: prefix + RECORD + 10]
            if size > CHUNK
            else ct[: prefix + 10],
            f"{size}: one byte appended": ct + b"\x00",
            f"{size}: final record repeated": ct + ct[-((len(ct) - prefix) % RECORD or RECORD) :],
            f"{size}: first record dropped": ct[:prefix] + ct[prefix + RECORD :]
            if size > CHUNK
            else ct[:prefix],
            f"{size}: bad magic": b"VLT\x02" + ct[4:],
            f"{size}: flipped bit": ct[:-5] + bytes([ct[-5] ^ 0x10]) + ct[-4:],
        }
    ops = []
    for i, data in enumerate(variants.values()):
        (tmp_path / f"v{i}.vlt").write_bytes(data)
        for source, piece in (("blob", 16 * RECORD), ("stream", 4099)):
            ops.append(
                {
                    "op": "decrypt_file",
                    "key": h(key),
                    "in_path": str(tmp_path / f"v{i}.vlt"),
                    "source": source,
                    "piece_bytes": piece,
                }
            )
    results = iter(js(*ops))
    for name, data in variants.items():
        for source in ("blob", "stream"):
            assert err(next(results)) == "IntegrityError", (name, source)
        with pytest.raises(crypto.IntegrityError):  # the reference agrees
            list(crypto.decrypt_stream(key, [data]))


def test_wipe_zeroes_keys(js):
    (result,) = js({"op": "wipe"})
    assert ok(result) is True


def test_sealed_fields_open_on_the_other_side(js):
    case_id, item_id = "c" * 32, "d" * 32
    item_key = crypto.random_key()
    fields = {"victim": "Нурлан Сыдыкбеков-Өмүрзаков", "statement": 'quote " newline \n ң ө ү 😀', "n": 3}
    env_py, sha_py = crypto.seal_fields(item_key, fields, case_id, item_id)
    base = {"item_key": h(item_key), "case_id": case_id, "item_id": item_id}
    sealed_js, opened_js, wrong_item, wrong_hash = js(
        {"op": "seal_fields", **base, "fields": fields},
        {"op": "open_fields", **base, "envelope": h(env_py), "sha256": sha_py},
        {"op": "open_fields", **base, "item_id": "e" * 32, "envelope": h(env_py), "sha256": sha_py},
        {"op": "open_fields", **base, "envelope": h(env_py), "sha256": "0" * 64},
    )
    got = ok(sealed_js)
    js_envelope = bytes.fromhex(got["envelope"])
    # Both sides name the envelope by its hash (never the JSON's: a guess could confirm that) …
    assert got["sha256"] == hashlib.sha256(js_envelope).hexdigest() and sha_py == hashlib.sha256(env_py).hexdigest()
    # … and the JS JSON inside is byte-identical to Python's compact form.
    assert crypto.aead_decrypt(item_key, js_envelope, crypto.sealed_fields_ad(case_id, item_id)) == json.dumps(
        fields, ensure_ascii=False, separators=(",", ":")).encode()
    assert crypto.open_fields(item_key, bytes.fromhex(got["envelope"]), case_id, item_id, got["sha256"]) == fields
    assert ok(opened_js) == fields
    assert err(wrong_item) == "DecryptionError"
    assert err(wrong_hash) == "IntegrityError"


def test_case_key_commitments_agree(js):
    case_key = crypto.random_key()
    check = crypto.case_key_check(case_key)
    got_check, got_msg = js(
        {"op": "case_key_check", "case_key": h(case_key)},
        {"op": "case_key_message", "case_id": "a" * 32, "version": 3, "check": check},
    )
    assert ok(got_check) == check
    assert bytes.fromhex(ok(got_msg)) == crypto.case_key_message("a" * 32, 3, check)


# --------------------------------------------------------------------------
# Trust from people (docs/trust.md): vault/domain/trust.py against vault/static/js/trust.js


def _b(x: bytes) -> str:
    return crypto.b64e(x)


def _org_dict(org) -> dict:
    return {"recovery_public": _b(org.recovery_public), "root_sign_public": _b(org.root_sign_public)}


def _state_dict(st) -> dict:
    return {"case_id": st.case_id, "seq": st.seq, "head": st.head, "key_version": st.key_version,
            "members": st.members, "checks": {str(k): v for k, v in st.checks.items()}}


def test_trust_derivations_are_equal(js):
    from vault.domain import trust

    kit = crypto.random_bytes(32)
    seed = crypto.random_bytes(32)
    box, sign = crypto.box_public_from_secret(crypto.random_bytes(32)), crypto.sign_public_from_seed(seed)
    root_pub = crypto.sign_public_from_seed(crypto.root_sign_seed(kit))
    recovery_pub = crypto.box_public_from_secret(kit)
    secret = crypto.invitation_secret(seed, "4f1c", "lawyer")
    sig = crypto.sign_detached(seed, b"x")
    payloads = ['{"a":1}', '{"username":"Айгерим-Үмөт","ң":"ө ү"}', "", "emoji 🔐 and \u2028"]
    names = ["aigul", "Айгерим-Үмөт", "нурлан.ңөү", "😀"]
    ops = [
        {"op": "root_sign_seed", "kit_secret": h(kit)},
        {"op": "org_fingerprint", "recovery_public": h(recovery_pub), "root_sign_public": h(root_pub)},
        *[{"op": "invitation_secret", "seed": h(seed), "invitation_id": i, "role": r}
          for i, r in (("4f1c", "lawyer"), ("4f1c", "admin"), ("ид-ң", "medic"))],
        *[{"op": "invitation_binding", "secret": h(secret), "username": n, "box_public": h(box), "sign_public": h(sign)}
          for n in names],
        *[{"op": "statement_message", "kind": k, "payload": p} for k in ("cert", "case-entry") for p in payloads],
        *[{"op": "statement_hash", "signature": h(sig), "payload": p} for p in payloads],
        *[{"op": "base64url", "data": h(secret[:n])} for n in (16, 15, 14, 0)],
    ]
    got = iter(js(*ops))
    assert ok(next(got)) == h(crypto.root_sign_seed(kit))
    fp = ok(next(got))
    assert fp == crypto.org_fingerprint(recovery_pub, root_pub) == trust.Organisation(recovery_pub, root_pub).fingerprint
    for i, r in (("4f1c", "lawyer"), ("4f1c", "admin"), ("ид-ң", "medic")):
        assert ok(next(got)) == h(crypto.invitation_secret(seed, i, r))
    for n in names:
        assert ok(next(got)) == h(crypto.invitation_binding(secret, n, box, sign))
    for k in ("cert", "case-entry"):
        for p in payloads:
            assert bytes.fromhex(ok(next(got))) == crypto.statement_message(k, p)
    for p in payloads:
        assert ok(next(got)) == crypto.statement_hash(sig, p)
    import base64

    for n in (16, 15, 14, 0):
        out = ok(next(got))
        assert out["text"] == base64.urlsafe_b64encode(secret[:n]).rstrip(b"=").decode()
        assert out["back"] == h(secret[:n])


BODIES = [
    {"v": 1, "kind": "cert", "username": "Айгерим-Үмөт", "z": [3, {"b": True, "a": None}], "a": "ң ө ү"},
    {"quote": 'he said "no"\\ \n\t\r\b\f \x00 \x1f \x7f', "emoji": "🔐😀", "sep": "\u2028\u2029", "é": "e\u0301"},
    {"nested": {"y": {"b": 2, "a": 1}, "x": []}, "neg": -7, "big": 2**53 - 1, "empty": {}, "t": False},
    {"Б": 1, "A": 2, "a": 3, "_": 4, "ё": 5, "\U0001f600": 6, "\uffff": 7},
]


def test_signed_statements_are_byte_identical(js):
    from vault.domain import trust

    seed = crypto.random_bytes(32)
    results = js(*[{"op": "canonical_json", "body": b} for b in BODIES],
                 *[{"op": "make_statement", "kind": k, "body": {**b, "v": 1, "kind": k}, "seed": h(seed)}
                   for b in BODIES for k in ("cert", "case-entry")])
    for b, r in zip(BODIES, results, strict=False):
        assert ok(r) == json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    made = results[len(BODIES):]
    i = 0
    for b in BODIES:
        for k in ("cert", "case-entry"):
            py = trust.make_statement(k, {**b, "v": 1, "kind": k}, seed)
            assert ok(made[i]) == py  # Ed25519 is deterministic: the same bytes, signature included
            assert trust.open_statement(ok(made[i]), k)[0] == {**b, "v": 1, "kind": k}
            i += 1
    # Each opens the other's; a changed payload, signer or kind is refused on both sides.
    st = trust.make_statement("cert", {**BODIES[0], "v": 1, "kind": "cert"}, seed)
    bad = [dict(st, payload=st["payload"].replace("Үмөт", "Умот")),
           dict(st, signer=_b(crypto.sign_public_from_seed(crypto.random_bytes(32)))),
           dict(st, kind="case-entry"), dict(st, signature=st["signature"][:-4]), "nope"]
    out = js({"op": "open_statement", "statement": st, "kind": "cert"},
             *[{"op": "open_statement", "statement": s, "kind": "cert"} for s in bad])
    assert ok(out[0])["id"] == trust.statement_id(st)
    for s, r in zip(bad, out[1:], strict=True):
        assert err(r) == "TrustFailure"
        with pytest.raises(trust.TrustFailure) as exc:
            trust.open_statement(s, "cert")
        assert r["error"]["message"] == str(exc.value)


def _people(n: int) -> list[dict]:
    out = []
    for i in range(n):
        keys = crypto.UserKeys.generate()
        out.append({"id": f"u{i}" * 8, "username": ["aigul", "Айгерим-Үмөт", "bakyt.ңөү", "mallory"][i],
                    "box_public": _b(keys.box_public), "sign_public": _b(keys.sign_public), "keys": keys})
    return out


def test_certificate_chains_verify_on_both_sides(js):
    from vault.domain import trust

    kit = crypto.random_bytes(32)
    root = crypto.root_sign_seed(kit)
    org = trust.Organisation(crypto.box_public_from_secret(kit), crypto.sign_public_from_seed(root))
    other = trust.Organisation(org.recovery_public, crypto.sign_public_from_seed(crypto.random_bytes(32)))
    admin, lawyer, medic, _ = _people(4)
    admin["role"], lawyer["role"], medic["role"] = "admin", "lawyer", "medic"
    when = "2026-12-02T10:00:00Z"

    def cert_args(signer_seed, u):
        return signer_seed, u["id"], u["username"], u["role"], u["box_public"], u["sign_public"]

    def py_cert(signer_seed, u):
        return trust.certify(signer_seed, org, u["id"], u["username"], u["role"], crypto.b64d(u["box_public"]),
                             crypto.b64d(u["sign_public"]), when)

    def js_cert(signer_seed, u):
        return {"op": "certify", "seed": h(signer_seed), "org": _org_dict(org), "user_id": u["id"],
                "username": u["username"], "role": u["role"], "box_public": u["box_public"],
                "sign_public": u["sign_public"], "issued_at": when}

    a_cert, l_cert = py_cert(root, admin), py_cert(admin["keys"].sign_seed, lawyer)
    m_by_lawyer = py_cert(lawyer["keys"].sign_seed, medic)  # a lawyer may not certify
    got_a, got_l = js(js_cert(root, admin), js_cert(admin["keys"].sign_seed, lawyer))
    assert ok(got_a) == a_cert and ok(got_l) == l_cert
    chains = {"admin": [a_cert], "lawyer": [l_cert, a_cert]}
    user = {k: v for k, v in lawyer.items() if k != "keys"} | {"certificates": chains["lawyer"]}
    swapped = dict(user, box_public=medic["box_public"])
    cases = [
        ("ok", chains["lawyer"], org), ("ok", chains["admin"], org),
        ("bad", [l_cert], org),  # does not reach the root
        ("bad", chains["lawyer"], other),  # another organisation
        ("bad", [m_by_lawyer, l_cert, a_cert], org),
        ("bad", [l_cert, a_cert, a_cert], org),  # goes on past the root
        ("bad", [], org), ("bad", [l_cert] * 5, org),
        ("bad", [dict(l_cert, payload=l_cert["payload"].replace('"lawyer"', '"admin"'))] + [a_cert], org),
    ]
    out = js(*[{"op": "verify_chain", "certificates": c, "org": _org_dict(o)} for _, c, o in cases],
             {"op": "verify_user", "user": user, "org": _org_dict(org)},
             {"op": "verify_user", "user": swapped, "org": _org_dict(org)})
    for (want, chain, o), r in zip(cases, out, strict=False):
        if want == "ok":
            c = trust.verify_chain(chain, o)
            got = ok(r)
            assert got["username"] == c.username and got["fingerprint"] == c.fingerprint
            assert got["path"] == list(c.path) and got["issuer"] == _b(c.issuer)
            assert got["may_certify"] == c.may_certify
        else:
            with pytest.raises(trust.TrustFailure) as exc:
                trust.verify_chain(chain, o)
            assert err(r) == "TrustFailure" and r["error"]["message"] == str(exc.value)
    assert ok(out[-2])["username"] == "Айгерим-Үмөт" == trust.verify_user(user, org).username
    with pytest.raises(trust.TrustFailure) as exc:
        trust.verify_user(swapped, org)
    assert err(out[-1]) == "TrustFailure" and out[-1]["error"]["message"] == str(exc.value)


def _chain_py(case_id, a, b, c, checks):
    """create (a), add b (by a), add c (by b), remove a (by c, rotation to v2), in Python."""
    from vault.domain import trust

    steps = [("create", a, 1, checks[1], a), ("add", b, 1, checks[1], a), ("add", c, 1, checks[1], b),
             ("remove", a, 2, checks[2], c)]
    state, entries = trust.CaseState(case_id), []
    for i, (op, member, v, check, signer) in enumerate(steps):
        e = trust.make_entry(state, op, trust.member_of(member), v, check, signer["id"], signer["keys"].sign_seed,
                             f"2026-12-0{i + 1}T10:00:00Z · Жалал-Абад")
        entries.append((state, op, member, v, check, signer, e))
        state = trust.apply_entry(state, e)
    return entries, state


def test_membership_chains_are_identical_and_replay_on_both_sides(js):
    from vault.domain import trust

    case_id = "c" * 32
    a, b, c, mallory = _people(4)
    checks = {1: crypto.case_key_check(crypto.random_key()), 2: crypto.case_key_check(crypto.random_key())}
    steps, final = _chain_py(case_id, a, b, c, checks)
    entries = [e for *_, e in steps]
    made = js(*[{"op": "make_entry", "state": _state_dict(st), "entry_op": op, "member": trust.member_of(m),
                 "key_version": v, "key_check": ch, "signer_id": s["id"], "seed": h(s["keys"].sign_seed),
                 "time": f"2026-12-0{i + 1}T10:00:00Z · Жалал-Абад"}
                for i, (st, op, m, v, ch, s, _) in enumerate(steps)])
    assert [ok(r) for r in made] == entries  # byte for byte
    (replayed,) = js({"op": "replay", "case_id": case_id, "entries": [ok(r) for r in made]})
    got = ok(replayed)
    assert got["seq"] == final.seq == 4 and got["head"] == final.head and got["key_version"] == 2
    assert got["members"] == final.members and set(got["members"]) == {b["id"], c["id"]}
    assert got["checks"] == {str(k): v for k, v in final.checks.items()}
    assert got["ids"][-1] == trust.statement_id(entries[-1])
    py = trust.replay(case_id, [ok(r) for r in made])
    assert (py.seq, py.head, py.members, py.key_version) == (final.seq, final.head, final.members, 2)


def test_tampered_membership_chains_are_refused_on_both_sides(js):
    from vault.domain import trust

    case_id = "d" * 32
    a, b, c, mallory = _people(4)
    checks = {1: crypto.case_key_check(crypto.random_key()), 2: crypto.case_key_check(crypto.random_key())}
    steps, final = _chain_py(case_id, a, b, c, checks)
    entries = [e for *_, e in steps]
    after2 = trust.replay(case_id, entries[:2])
    mallory_check = crypto.case_key_check(crypto.random_key())
    # mallory adds herself, signing with her own key and claiming to be a (the creator)
    injected = trust.make_entry(after2, "add", trust.member_of(mallory), 1, checks[1], a["id"],
                                mallory["keys"].sign_seed, "2026-12-03T10:00:00Z")
    # a member rotates to a key only mallory holds, with a version that does not follow
    bad_rotation = trust.make_entry(after2, "remove", trust.member_of(b), 3, mallory_check, a["id"],
                                    a["keys"].sign_seed, "2026-12-03T10:00:00Z")
    wrong_check = trust.make_entry(after2, "add", trust.member_of(c), 1, mallory_check, a["id"],
                                   a["keys"].sign_seed, "2026-12-03T10:00:00Z")
    edited = dict(entries[1], payload=entries[1]["payload"].replace(b["box_public"], mallory["box_public"]))
    variants = {
        "injected member": entries[:2] + [injected],
        "rotation that skips a version": entries[:2] + [bad_rotation],
        "add with another key's commitment": entries[:2] + [wrong_check],
        "edited member key": [entries[0], edited],
        "entries swapped": [entries[0], entries[2], entries[1]],
        "an entry dropped in the middle": [entries[0], entries[2]],
        "starts with an add": entries[1:],
        "another case": entries,
        "empty": [],
    }
    out = js(*[{"op": "replay", "case_id": "e" * 32 if name == "another case" else case_id, "entries": ents}
               for name, ents in variants.items()])
    for (name, ents), r in zip(variants.items(), out, strict=True):
        with pytest.raises(trust.TrustFailure) as exc:
            trust.replay("e" * 32 if name == "another case" else case_id, ents)
        assert err(r) == "TrustFailure", name
        assert r["error"]["message"] == str(exc.value), name
    # A signer re-keyed by a password recovery: accepted only with keys_of vouching for the new key.
    new_b = crypto.UserKeys.generate()
    rekeyed = trust.make_entry(after2, "add", trust.member_of(c), 1, checks[1], b["id"], new_b.sign_seed,
                               "2026-12-03T10:00:00Z")
    vouch = {b["id"]: [_b(new_b.sign_public)]}
    with_vouch, without = js({"op": "replay", "case_id": case_id, "entries": entries[:2] + [rekeyed], "keys_of": vouch},
                             {"op": "replay", "case_id": case_id, "entries": entries[:2] + [rekeyed]})
    py = trust.replay(case_id, entries[:2] + [rekeyed], lambda uid: set(vouch.get(uid, [])))
    assert ok(with_vouch)["head"] == py.head and ok(with_vouch)["members"] == py.members
    assert err(without) == "TrustFailure"
    with pytest.raises(trust.TrustFailure):
        trust.replay(case_id, entries[:2] + [rekeyed])
