"""An upload done step by step, so tests can interfere between the steps.

It uses the same crypto calls as vault.client.transfer, in memory (test data is small).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from vault import crypto
from vault.client.session import ClientSession
from vault.crypto import b64e


@dataclass
class Manual:
    sess: ClientSession
    case_id: str
    upload_id: str
    item_id: str
    ciphertext: bytes
    finish_body: dict

    def put(self, offset: int, end: int):
        return self.sess.http.call("PUT", f"/uploads/{self.upload_id}", data=self.ciphertext[offset:end],
                                   params={"offset": offset}, headers={"Content-Type": "application/octet-stream"})

    def finish(self, **override):
        return self.sess.http.post(f"/uploads/{self.upload_id}/finish", {**self.finish_body, **override})

    def status(self):
        return self.sess.http.get(f"/uploads/{self.upload_id}")


def start(sess: ClientSession, case_id: str, data: bytes, meta: dict | None = None,
          filename: str = "file.bin") -> Manual:
    case = sess.case(case_id)
    version = case["key_version"]
    case_key = sess.case_keys(case)[version]
    item_key = crypto.random_key()
    ct = b"".join(p for _, p in crypto.encrypt_chunks(item_key, io.BytesIO(data)))
    meta = meta or {"title": "Manual upload", "evidence_type": "document"}
    st = sess.http.post(f"/cases/{case_id}/uploads", {"size": len(ct), "key_version": version, "metadata": meta})
    item_id = st["item_id"]
    manifest = {"v": 1, "item_id": item_id, "case_id": case_id, "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "media_type": "application/octet-stream", "filename": filename,
                "captured_at": None, "created_at": "2026-11-23T00:00:00+00:00", "uploader": sess.username,
                "uploader_id": sess.me["id"], "evidence_type": meta["evidence_type"], "attached_to": None,
                "sealed_sha256": None}
    sealed = crypto.seal_manifest(item_key, sess.keys, manifest, case_id, item_id)
    ct_hash = hashlib.sha256(ct).hexdigest()
    receipt = sess.keys.sign(crypto.receipt_message(item_id, case_id, version, ct_hash, crypto.sha256_hex(sealed)))
    body = {"ciphertext_sha256": ct_hash, "sealed_manifest": b64e(sealed),
            "wrapped_key": b64e(crypto.wrap_item_key(case_key, item_key, case_id, item_id, version)),
            "receipt_signature": b64e(receipt)}
    return Manual(sess, case_id, st["upload_id"], item_id, ct, body)
