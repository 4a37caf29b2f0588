"""The organisation's recovery key: made offline, kept on paper.

Its public half is registered with the server, and every case key is also
sealed to it; its private half exists only in the printed kit. With it, a
custodian can re-grant a user who lost a password. Without it, a lost
password means lost access: the README says so.
"""

from __future__ import annotations

import base64
import html
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import qrcode
import qrcode.image.svg

from vault import crypto

PREFIX = "vault-recovery-v1:"


class KitError(Exception):
    """The recovery kit file cannot be read or does not hold a key."""


def encode_secret(secret: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(secret).decode().rstrip("=")


def decode_secret(text: str) -> bytes:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(PREFIX):
            raw = line[len(PREFIX):]
            try:
                secret = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            except ValueError as exc:
                raise KitError("the recovery key line is damaged") from exc
            if len(secret) != 32:
                raise KitError("the recovery key has the wrong length")
            return secret
    raise KitError(f"no line starting with {PREFIX} found")


def load_kit(path: Path) -> bytes:
    try:
        return decode_secret(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KitError(f"cannot read {path}: {exc.strerror}") from exc


def write_kit(out_dir: Path, organisation: str = "") -> tuple[bytes, list[Path]]:
    """Make a recovery key pair; write the private half as a printable kit.

    Returns (public key, files written). The caller must never store the
    private half anywhere else.
    """
    secret, public = crypto.generate_box_keypair()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # One number for people to compare: it covers the recovery key and the root derived from it.
    fpr = crypto.org_fingerprint(public, root_public(secret))
    line = encode_secret(secret)
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    txt = out_dir / "recovery-key.txt"
    _write_private(txt, (
        f"Evidence vault - organisation recovery key\n{organisation}\nMade {when}\n\n"
        f"{line}\n\nOrganisation fingerprint (every invitation carries it; compare with `vault org show`): {fpr}\n"
        f"Organisation root public key (for `vault server init --root-public`): {crypto.b64e(root_public(secret))}\n"
        "Keep this on paper in a safe place away from the office. Delete this file after printing.\n"
    ))
    img = qrcode.make(line, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    buf = io.BytesIO()
    img.save(buf)
    svg = buf.getvalue().decode()
    page = out_dir / "recovery-kit.html"
    _write_private(page, _KIT_HTML.format(org=html.escape(organisation), when=when, svg=svg,
                                          line=html.escape(line), fpr=html.escape(fpr)))
    return public, [txt, page]


def root_public(secret: bytes) -> bytes:
    """The organisation root's public key, derived from the kit's secret (docs/trust.md)."""
    return crypto.sign_public_from_seed(crypto.root_sign_seed(secret))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


_KIT_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Recovery kit</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}code{{word-break:break-all;font-size:1.1em}}
svg{{width:18em;height:18em}}</style></head><body>
<h1>Evidence vault — recovery kit</h1><p>{org} — made {when}</p>
<p><b>Print this page, keep it in a safe away from the office, and delete the file.</b>
Anyone with this key can restore access to every case of the organisation.
If it is lost and a user forgets their password, that user's access is gone for good.</p>
{svg}
<p>Recovery key:<br><code>{line}</code></p>
<p>Organisation fingerprint (every invitation carries it; compare with <code>vault org show</code>): <b>{fpr}</b></p>
<p>To use: <code>vault recover --kit recovery-key.txt USERNAME</code> (see README, "Lost password").</p>
</body></html>
"""
