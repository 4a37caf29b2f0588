"""gunicorn settings for `vault server run` (override with GUNICORN_CMD_ARGS)."""

import multiprocessing
import os

_data = os.environ.get("VAULT_DATA", ".")
workers = int(os.environ.get("VAULT_WORKERS", min(8, 2 * multiprocessing.cpu_count())))
worker_class = "sync"
# Uploads arrive in chunks of a few MiB, so no request needs long.
timeout = 30
graceful_timeout = 20
# A worker is replaced now and then, so a leak can never grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Path only (%(U)s), never the query string: what users type stays out of logs.
accesslog = os.path.join(_data, "logs", "access.log")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)s'
errorlog = os.path.join(_data, "logs", "error.log")
loglevel = "info"
limit_request_line = 4094
limit_request_fields = 50
forwarded_allow_ips = os.environ.get("VAULT_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No shared control socket in the home folder: several vaults (and the test
# suite's servers) run side by side, and nothing here needs runtime control.
control_socket_disable = True


def post_worker_init(worker):
    # A finish that uploads a large blob to an object store reports progress
    # through this, so the arbiter does not take it for a hung worker.
    from vault.serving import heartbeat

    heartbeat.install(worker.notify)
