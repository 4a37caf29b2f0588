"""What the bundle writer (bundle.py) and the offline check (verify.py) agree on.

The member names of the custody annex, its format tag and version, the read
size for attachments, and the short key id printed next to each signer. One
module both import, so neither imports the other.
"""

from __future__ import annotations

import hashlib

ANNEX_JSON = "custody/annex.json"
ANNEX_HTML = "custody/annex.html"
ANNEX_SIG = "custody/annex.sig"
ANNEX_FORMAT = "evidence-vault-custody-annex"
# 2 adds "organisation" and the signers' certificate chains (docs/trust.md,
# "What a bundle proves"). verify.py still reads 1 (and an annex without a
# version, as the first bundles were), but cannot tie its signers to a root.
ANNEX_VERSION = 2
LEGACY_VERSION = 1
READ_CHUNK = 1024 * 1024  # attachments are streamed in pieces of this size, never read whole


def key_id(sign_public: bytes) -> str:
    """A short identifier of an Ed25519 public key (not the fingerprint people compare)."""
    return hashlib.sha256(sign_public).hexdigest()[:16]
