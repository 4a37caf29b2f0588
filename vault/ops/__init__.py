"""Server-side maintenance, run on the server machine with direct access to the
data folder (the `vault server ...` commands), never through the web."""

from vault.ops.archive import backup, restore, writes_portable
from vault.ops.checks import GRACE_S, FsckReport, audit_verify, fsck
from vault.ops.initialise import InitError, init, invite, remember_settings

__all__ = ["GRACE_S", "FsckReport", "InitError", "audit_verify", "backup", "fsck", "init", "invite", "remember_settings",
           "restore", "writes_portable"]
