"""The resumable SHA-256 behind uploads: equal to hashlib, and never trusted when it doesn't fit."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from vault.storage.hashstate import STATE_TAG, ResumableSha256, available

pytestmark = pytest.mark.skipif(not available(), reason="this libcrypto has no SHA256_Init (finish re-hashes)")


def test_exported_and_restored_state_gives_hashlibs_digest():
    data = os.urandom(3 * 1024 * 1024 + 17)
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(data)), 12))
    h = ResumableSha256.new()
    done = 0
    for cut in [*cuts, len(data)]:
        h.update(memoryview(bytearray(data[done:cut])))  # a worker's buffer, as in write_chunk
        state = h.export()
        done = cut
        h = ResumableSha256.restore(state, done)  # the next request may be another worker
        assert h is not None
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    assert h.hexdigest() == h.hexdigest()  # reading the digest does not finalise the state


def test_bytes_and_empty_input():
    h = ResumableSha256.new()
    h.update(b"")
    h.update(b"abc")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize("mangle", [
    lambda s: s[:-1],                                  # truncated
    lambda s: b"other-tag-v9" + s[len(STATE_TAG):],    # another format
    lambda s: b"",
])
def test_malformed_state_is_refused(mangle):
    h = ResumableSha256.new()
    h.update(b"x" * 1000)
    assert ResumableSha256.restore(mangle(h.export()), 1000) is None


@pytest.mark.parametrize("length", [0, 999, 1001, 1000 + 2**32])
def test_state_for_another_length_is_refused(length):
    h = ResumableSha256.new()
    h.update(b"x" * 1000)
    assert ResumableSha256.restore(h.export(), length) is None
    assert ResumableSha256.restore(h.export(), 1000) is not None
