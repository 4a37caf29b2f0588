"""Running the real `vault` command as a person would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_ENV


class Cli:
    def __init__(self, url: str, home: Path, user: str, password: str, data_dir: Path | None = None):
        self.env = {**os.environ, **TEST_ENV, "VAULT_URL": url, "VAULT_CLIENT_HOME": str(home),
                    "VAULT_USER": user, "VAULT_PASSWORD": password}
        if data_dir:
            self.env["VAULT_DATA"] = str(data_dir)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "vault.cli", *args], env=self.env, capture_output=True,
                           text=True, timeout=600)
        if check and p.returncode != 0:
            raise AssertionError(f"vault {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str):
        return json.loads(self.run(*args, "--json").stdout)
