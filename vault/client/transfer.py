"""Upload and download of evidence, in constant memory.

Upload: background threads read, encrypt and hash (vault/client/pipeline.py);
the main thread gathers the ciphertext into requests sized to take about
two seconds each (RequestSizer) and sends them. A request is kept until the
server acknowledges it, so a dropped connection resumes from the server's
`received` offset without starting over.

Download: the ciphertext is hashed, decrypted and written to a `.part`
file as it arrives; only after the hash, the stream's final tag, the
plaintext hash and the uploader's signature all check out is the file
renamed to its name. A failed check leaves no output file.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests

from vault import crypto
from vault.client import resume, state
from vault.client.http import ApiFailure, Unreachable
from vault.client.pipeline import EncryptedFile, RequestBody, RequestSizer
from vault.client.session import ClientSession, TrustError
from vault.crypto import b64d, b64e
from vault.domain.capture import verify_capture
from vault.domain.trust import TrustFailure
from vault.export.names import safe_filename

SLAB_RECORDS = 16  # EncryptedFile hands over 16 encrypted chunks (~1 MiB) at a time
RETRIES = 8


class IntegrityFailure(Exception):
    """Downloaded evidence failed a check; nothing was written."""


def _exif(path: Path, media_type: str) -> tuple[str | None, dict]:
    """Capture time and a few EXIF fields of a photo (kept sealed, in the manifest)."""
    if not media_type.startswith("image/"):
        return None, {}
    try:
        from PIL import ExifTags, Image
    except ImportError:
        return None, {}
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            merged = {**exif, **exif.get_ifd(ExifTags.IFD.Exif)}
            tags = {ExifTags.TAGS.get(k, str(k)): v for k, v in merged.items()}
    except Exception:  # noqa: BLE001 - any unreadable image simply has no EXIF for us
        return None, {}
    keep = {k: str(tags[k])[:200] for k in ("DateTimeOriginal", "Make", "Model", "Software") if k in tags}
    captured = None
    if "DateTimeOriginal" in keep:
        try:
            captured = datetime.strptime(keep["DateTimeOriginal"], "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            captured = None
    return captured, keep


def _resumable(sess: ClientSession, keys: crypto.UserKeys, case_id: str, path: Path,
               st: os.stat_result, restart: bool, current: int) -> tuple[resume.Journal, dict] | None:
    """An unfinished upload of this very file that the server still holds: (journal, its status).

    The journal returned is held by this process (resume.claim); every other
    one `find` handed over is dropped or let go here, whatever happens.
    """
    journal, stale = resume.find(sess.home, sess.url, sess.username, keys, case_id, path, st)
    if journal is not None and (restart or journal.key_version != current):
        # Starting over, or the case key was rotated since: a removed member holds the old key.
        stale, journal = [*stale, journal], None
    try:
        for old in stale:  # the file changed since, or the user starts over: cancel it on the server
            try:
                sess.http.call("DELETE", f"/uploads/{old.upload_id}")
            except ApiFailure as exc:
                if exc.status not in (404, 409, 410):
                    raise
            resume.drop(sess.home, old.upload_id)
        if journal is None:
            return None
        try:
            status = sess.http.get(f"/uploads/{journal.upload_id}")
        except ApiFailure as exc:
            if exc.status not in (404, 410):
                raise
            resume.drop(sess.home, journal.upload_id)  # finished, cancelled or expired: start over
            return None
        return journal, status
    except BaseException:
        for j in [*stale, *([journal] if journal else [])]:
            resume.release(sess.home, j.upload_id)
        raise


def upload_file(
    sess: ClientSession, case_id: str, path: Path, metadata: dict, sealed: dict | None = None,
    attached_to: str | None = None, progress: Callable[[int], None] | None = None,
    media_type: str | None = None, filename: str | None = None, restart: bool = False, _again: bool = False,
) -> dict:
    """Encrypt, sign and upload one file; returns the server's item record.

    An upload of the same file that an earlier process left unfinished goes
    on from what the server holds (vault/client/resume.py), unless
    `restart`; its searchable metadata stays what was given then. The
    result's `resumed_from` says how many bytes were already there.
    """
    keys = sess._require_keys()
    case = sess.case(case_id)
    case_keys = sess.case_keys(case)
    # The version new items use is the verified chain's, never the server's word for it.
    current = sess.case_state(case).key_version
    st = path.stat()
    size = st.st_size
    found = _resumable(sess, keys, case_id, path, st, restart, current)
    if found is not None:
        journal, start = found
        received = start["received"]
        item_key, encryptor = journal.key, journal.encryptor()
    else:
        item_key = crypto.random_key()
        encryptor = crypto.StreamEncryptor(item_key)
        start = sess.http.post(f"/cases/{case_id}/uploads", {
            "size": crypto.stream_ciphertext_size(size), "key_version": current,
            "metadata": metadata, "attached_to": attached_to})
        journal, received = resume.new(start, case_id, current, path, st, item_key, encryptor), 0
        resume.claim(sess.home, journal.upload_id)  # a new id: nobody else can hold it
        resume.save(sess.home, sess.url, sess.username, keys, journal)
    try:
        upload_id, item_id, version = journal.upload_id, journal.item_id, journal.key_version
        case_key = case_keys[version]
        # A request may overshoot by one slab, so stay a slab below the server's limit.
        records = max(1, min(SLAB_RECORDS, start["chunk_max"] // (2 * (crypto.CHUNK_SIZE + crypto.STREAM_ABYTES))))
        slab = records * (crypto.CHUNK_SIZE + crypto.STREAM_ABYTES) + crypto.STREAM_PREFIX_BYTES
        sizer = RequestSizer(start["chunk_max"] - slab)
        ahead = max(4, sizer.limit // slab)
        if progress and received:
            progress(received)
        with open(path, "rb") as f, EncryptedFile(item_key, f, records=records, ahead=ahead, encryptor=encryptor) as enc:
            batch: list[bytes] = []
            pending, offset, produced = 0, received, 0
            for slab in enc:
                produced += len(slab)
                if produced <= received:
                    continue  # the server holds it: encrypted again only for the hashes
                if produced - len(slab) < received:
                    slab = slab[received - (produced - len(slab)):]
                batch.append(slab)
                pending += len(slab)
                if pending >= sizer.size:
                    offset = _send_timed(sess, upload_id, offset, batch, sizer, progress)
                    batch, pending = [], 0
            if batch:
                offset = _send_timed(sess, upload_id, offset, batch, sizer, progress)
        if enc.size != size:
            raise OSError(f"{path} changed size while it was read; upload it again when it is complete")
        media_type = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        captured, exif = _exif(path, media_type)
        manifest = {
            "v": 1, "item_id": item_id, "case_id": case_id, "sha256": enc.plain_sha256, "size": size,
            "media_type": media_type, "filename": filename or path.name, "captured_at": captured,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "uploader": sess.username, "uploader_id": sess.me["id"], "evidence_type": metadata["evidence_type"],
            "attached_to": attached_to, "sealed_sha256": None,
        }
        fields = {**(sealed or {}), **({"exif": exif} if exif else {})}
        fields_envelope = None
        if fields:
            fields_envelope, manifest["sealed_sha256"] = crypto.seal_fields(item_key, fields, case_id, item_id)
        sealed_manifest = crypto.seal_manifest(item_key, keys, manifest, case_id, item_id)
        ct_hash = enc.ct_sha256
        receipt = keys.sign(crypto.receipt_message(item_id, case_id, version, ct_hash, crypto.sha256_hex(sealed_manifest)))
        body = {"ciphertext_sha256": ct_hash, "sealed_manifest": b64e(sealed_manifest),
                "wrapped_key": b64e(crypto.wrap_item_key(case_key, item_key, case_id, item_id, version)),
                "receipt_signature": b64e(receipt)}
        if fields_envelope is not None:
            body["sealed_fields"] = b64e(fields_envelope)
        try:
            out = _with_retry(lambda: sess.http.post(f"/uploads/{upload_id}/finish", body),
                              on_retry=lambda: _finished_already(sess, upload_id, item_id))
        except ApiFailure as exc:
            if exc.code in ("hash_mismatch", "already_finished", "stale_key_version"):
                resume.drop(sess.home, upload_id)  # this upload can never finish: the next attempt starts over
            if exc.code == "stale_key_version" and not _again:
                # The case key was rotated while this file was sent (a member removed): the old
                # key must not seal anything new, so the whole file goes again under the new one.
                try:
                    sess.http.call("DELETE", f"/uploads/{upload_id}")
                except ApiFailure:
                    pass  # already gone; it expires on the server otherwise
                return upload_file(sess, case_id, path, metadata, sealed, attached_to, progress, media_type,
                                   filename, restart=True, _again=True)
            if exc.status != 404:
                raise
            # A repeat of a finish that did commit, its answer lost with the
            # connection: the upload is gone because the item exists.
            out = _finished_already(sess, upload_id, item_id)
            if out is None:
                raise
        resume.drop(sess.home, upload_id)
        return {**out, "resumed_from": received}
    finally:
        resume.release(sess.home, journal.upload_id)  # kept for a later run unless finished (dropped)


def _finished_already(sess: ClientSession, upload_id: str, item_id: str) -> dict | None:
    try:
        sess.http.get(f"/uploads/{upload_id}")
        return None  # still open: finish again
    except ApiFailure as exc:
        if exc.status == 404:
            item = sess.http.get(f"/items/{item_id}")
            return {"item_id": item["id"], "case_id": item["case_id"], "blob_sha256": item["blob_sha256"],
                    "created_at": item["created_at"]}
        raise


def _with_retry(fn, on_retry=None):
    """Retry while the server is unreachable or says its blob store is (503): the upload waits there."""
    delay = 0.5
    for attempt in range(RETRIES):
        try:
            return fn()
        except (Unreachable, ApiFailure) as exc:
            if isinstance(exc, ApiFailure) and exc.code != "storage_unavailable":
                raise
            if attempt == RETRIES - 1:
                raise
            if isinstance(exc, ApiFailure):
                delay = max(delay, min(float(exc.body.get("retry_after", delay)), 30))
            time.sleep(delay)
            delay = min(delay * 2, 15)
            if on_retry:
                try:
                    done = on_retry()
                except Unreachable:
                    continue  # still cut off: try again after the next wait
                if done is not None:
                    return done
    raise AssertionError("unreachable")


def _send_timed(sess: ClientSession, upload_id: str, offset: int, batch: list[bytes], sizer: RequestSizer,
                progress: Callable[[int], None] | None) -> int:
    body = RequestBody(batch)
    t = time.monotonic()
    offset = _send(sess, upload_id, offset, body)
    sizer.observe(len(body), time.monotonic() - t)
    if progress:
        progress(len(body))
    return offset


def _send(sess: ClientSession, upload_id: str, offset: int, data: RequestBody) -> int:
    """PUT one request; after a dropped connection, ask where the server is and resume."""
    delay = 0.5
    for attempt in range(RETRIES):
        try:
            out = sess.http.call("PUT", f"/uploads/{upload_id}", data=data, params={"offset": offset},
                                 headers={"Content-Type": "application/octet-stream"})
            return out["received"]
        except (Unreachable, ApiFailure) as exc:
            if isinstance(exc, ApiFailure) and exc.code not in ("busy", "wrong_offset", "truncated_chunk"):
                raise
            if attempt == RETRIES - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 15)
            try:
                received = sess.http.get(f"/uploads/{upload_id}")["received"]
            except Unreachable:
                continue
            if received == offset + len(data):
                return received  # the request arrived; only its answer was lost
            if received != offset:
                raise ApiFailure(409, "wrong_offset", f"the server holds {received} bytes, expected {offset}") from exc
    raise AssertionError("unreachable")


def fetch_item(sess: ClientSession, item_id: str) -> tuple[dict, dict, bytes, bytes, bytes]:
    """Fetch and verify an item's sealed parts. Returns (item, manifest, manifest bytes, signature, item key).

    The sealed fields, checked against the manifest's hash, are in item["sealed"] ({} if none).
    """
    item = sess.http.get(f"/items/{item_id}")
    case = sess.case(item["case_id"])
    case_key = sess.case_keys(case).get(item["key_version"])
    if case_key is None:
        raise TrustError("you have no key for this item's key version (ask a member to re-add you)")
    up = item["uploader"]
    owner = state.pinned_sign_keys(sess.url, base=sess.home).get(up["sign_public"])
    if owner is None:
        user = sess.http.get(f"/users/{up['username']}")
        if user["sign_public"] != up["sign_public"]:
            raise TrustError(f"the item's signing key is not {up['username']}'s current key and you never verified it")
        sess.trusted_user(user)
    elif owner != up["username"]:
        raise TrustError(f"the item claims uploader {up['username']} but the key belongs to {owner}")
    signer = b64d(up["sign_public"])
    sealed_manifest = b64d(item["sealed_manifest"])
    try:
        crypto.verify_detached(signer, crypto.receipt_message(
            item["id"], item["case_id"], item["key_version"], item["blob_sha256"],
            crypto.sha256_hex(sealed_manifest)), b64d(item["receipt_signature"]))
        item_key = crypto.unwrap_item_key(case_key, b64d(item["wrapped_key"]), item["case_id"], item["id"],
                                          item["key_version"])
        manifest, body, sig = crypto.open_manifest(item_key, sealed_manifest, item["case_id"], item["id"], signer)
        item["sealed"] = {}
        if manifest.get("sealed_sha256"):
            if not item.get("sealed_fields"):
                raise crypto.IntegrityError("the sealed fields named by the manifest are missing")
            item["sealed"] = crypto.open_fields(item_key, b64d(item["sealed_fields"]), item["case_id"], item["id"],
                                                manifest["sealed_sha256"])
    except crypto.CryptoError as exc:
        raise IntegrityFailure(f"item {item_id}: {exc}") from exc
    if "capture" in item["sealed"]:  # the field app's signed capture statement (vault/domain/capture.py)
        try:
            item["capture"] = {"verified": True, **verify_capture(item["sealed"]["capture"], manifest,
                                                                  up["sign_public"], item["case_id"])}
        except TrustFailure as exc:
            item["capture"] = {"verified": False, "reason": str(exc)}
    return item, manifest, body, sig, item_key


def download_item(sess: ClientSession, item_id: str, out: Path | None = None, out_dir: Path | None = None,
                  progress: Callable[[int], None] | None = None) -> tuple[Path, dict]:
    """Download, verify and decrypt an item. Returns (path written, manifest with "sealed" fields added)."""
    item, manifest, _, _, item_key = fetch_item(sess, item_id)
    # The sealed original name is the uploader's text: the same rules as a bundle's entries (no
    # path, nothing invisible such as a right-to-left override, no control or reserved character).
    name = safe_filename(str(manifest.get("filename") or ""), fallback=item_id)
    target = out or (out_dir or Path.cwd()) / name
    part = target.with_name(target.name + ".part")
    ct_digest, pt_digest = hashlib.sha256(), hashlib.sha256()
    dec = crypto.StreamDecryptor(item_key)
    got, written, stalled = 0, 0, 0
    try:
        with open(part, "wb") as f:
            while got < item["blob_size"]:
                if stalled >= 3:
                    raise IntegrityFailure("the server's copy is shorter than the uploader's signed receipt says: "
                                           "it is damaged; ask your admin to run `vault server fsck`")
                headers = {"Range": f"bytes={got}-"} if got else None
                before = got
                try:
                    resp = sess.http.get(f"/items/{item_id}/content", stream=True, headers=headers)
                    for piece in resp.iter_content(256 * 1024):
                        ct_digest.update(piece)
                        got += len(piece)
                        plain = dec.feed(piece)
                        pt_digest.update(plain)
                        f.write(plain)
                        written += len(plain)
                        if progress:
                            progress(len(piece))
                except (Unreachable, requests.RequestException):
                    # Broken connection: resume from the last byte received.
                    time.sleep(0.5)
                except ApiFailure as exc:
                    if exc.code in ("blob_damaged", "blob_missing"):
                        raise IntegrityFailure(exc.message) from exc
                    raise
                stalled = stalled + 1 if got == before else 0
            if ct_digest.hexdigest() != item["blob_sha256"]:
                raise IntegrityFailure("the encrypted file was altered on the server (its hash does not match "
                                       "the uploader's signed receipt)")
            tail = dec.finish()
            pt_digest.update(tail)
            f.write(tail)
            written += len(tail)
            f.flush()
            os.fsync(f.fileno())
        if pt_digest.hexdigest() != manifest["sha256"] or written != manifest["size"]:
            raise IntegrityFailure("the decrypted file does not match the uploader's signed manifest")
    except crypto.CryptoError as exc:
        part.unlink(missing_ok=True)
        raise IntegrityFailure(f"the encrypted file is damaged or was altered: {exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    return target, {**manifest, "sealed": item["sealed"], **({"capture": item["capture"]} if "capture" in item else {})}
