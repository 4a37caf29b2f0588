"""Load benchmark (not a test): many client processes uploading and searching at once.

    .venv/bin/python bench/load/run.py              # 32 clients for 60 s on 4 gunicorn workers
    .venv/bin/python bench/load/run.py --quick      # 8 clients for 10 s
    .venv/bin/python bench/load/run.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/load/run.py --faults     # then a second minute with faults (below)

Target (the design document): under load — 4 gunicorn workers, 32 concurrent clients
mixing uploads and searches for a minute — no 5xx, nothing lost, no index
lock error. Latencies are printed next to the same operations done by one
client on the idle server in the same run. Exits 1 when a target is missed.

--faults: after the plain minute, a second minute of the same load while a
random worker is killed (SIGKILL) every few seconds and the database is
unusable for a few seconds, twice (bench/load/faults.py says how, on each
database). Its figures are printed next to the plain minute's. Targets:
every acknowledged item present and byte-identical, no half-written item
visible (every stored item downloads and verifies), fsck --deep clean, the
audit chain verifies, no 500 (a request that cannot use the database is
answered 503 with Retry-After, and only during an outage), no client sees a
503 after its retries, and the arbiter has all its workers at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ["VAULT_INSECURE_TEST_KDF"] = "1"  # TEST-ONLY cheap Argon2: sign-in cost is not what we measure

import faults  # noqa: E402  (bench/load, on sys.path as the script's folder)
import loadgen  # noqa: E402

LAWYERS, CASES_EACH, PASSWORD = 8, 3, "load-password-1"
LOG_PATTERNS = ("LockError", "database is locked", "Traceback", "unhandled", "search indexer:")


class Watcher(threading.Thread):
    """Polls search for every acknowledged item's unique token: when it first became findable.

    Signed in as a member of every case. Tokens are asked 15 at a time joined
    by OR, so a backlog costs few requests; the time recorded is the end of
    the request that first found the item, so freshness is measured to
    within one polling round.
    """

    BATCH, PAUSE = 15, 0.5

    def __init__(self, sess, acks):
        super().__init__(daemon=True)
        self.sess, self.acks = sess, acks
        self.pending: dict[str, dict] = {}
        self.seen: dict[str, float] = {}
        self.errors: Counter = Counter()
        self.lock, self.stop = threading.Lock(), threading.Event()

    def add(self, item: dict) -> None:
        with self.lock:
            if item["item_id"] not in self.seen:
                self.pending[item["token"]] = item

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                while True:
                    self.add(self.acks.get_nowait())
            except queue.Empty:
                pass
            with self.lock:
                tokens = list(self.pending)
            for i in range(0, len(tokens), self.BATCH):
                batch = tokens[i:i + self.BATCH]
                try:
                    res = self.sess.http.post("/search", {"q": " OR ".join(batch), "per_page": 100, "facets": False})
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    self.errors[loadgen.failure(exc)] += 1
                    continue
                now, hits = time.time(), {h["item_id"] for h in res["hits"]}
                with self.lock:
                    for tok in batch:
                        if self.pending[tok]["item_id"] in hits:
                            self.seen[self.pending.pop(tok)["item_id"]] = now
            self.stop.wait(self.PAUSE)

    def drain(self, timeout: float) -> float:
        """Wait until every item added is findable, or the timeout; returns the seconds waited."""
        t = time.time()
        while self.pending and time.time() - t < timeout:
            time.sleep(0.2)
        self.stop.set()
        return time.time() - t


def server_cpu(srv) -> float:
    """CPU seconds of gunicorn: the master, its live workers, and the workers it reaped (recycled)."""
    def stat(pid):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in stat(srv.proc.pid)[11:15])
    for child in srv.worker_pids():
        try:
            total += sum(int(x) for x in stat(child)[11:13])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: other
    agents share it, so the report says how much of it the vault had."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(f) - f[3] - f[4]) / tick, sum(f) / tick  # idle and iowait are not busy


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def fresh_postgres(url: str) -> str:
    """A new empty database on the given server (init refuses a used one)."""
    import psycopg

    name = "vault_load_" + secrets.token_hex(4)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def via_port(url: str, port: int) -> str:
    """The same PostgreSQL URL through 127.0.0.1:`port` (the bench's proxy)."""
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(url)
    user = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
    return urlunsplit(u._replace(netloc=f"{user}127.0.0.1:{port}"))


def drop_postgres(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def set_up(srv, env, work: Path) -> dict[str, list[str]]:
    """Admin, lawyers with cases (each lawyer's first case shared with the next), and the
    watcher, a member of every case. Returns {lawyer: [case ids]}."""
    from tests.conftest import person

    admin = person(srv.url, work / "homes/admin", "admin", "admin-password-1", env.admin_invitation)
    names = [f"lawyer{i}" for i in range(LAWYERS)] + ["watcher"]
    people = {}
    for name in names:
        inv = admin.http.post("/admin/invitations", {"role": "lawyer"})["invitation"]
        people[name] = person(srv.url, work / "homes" / name, name, PASSWORD, inv)
    cases: dict[str, list[str]] = {n: [] for n in names}
    for i in range(LAWYERS):
        owner = people[names[i]]
        for j in range(CASES_EACH):
            cid = owner.create_case(f"KG-LOAD-{i}-{j}", f"Load case {i}.{j}", loadgen.REGIONS[(i + j) % 9])["id"]
            cases[names[i]].append(cid)
            owner.add_member(cid, "watcher")
            if j == 0:
                nxt = names[(i + 1) % LAWYERS]
                owner.add_member(cid, nxt)
                cases[nxt].append(cid)
    return cases


def run_load(ctx, srv, work: Path, args, acks, phase: str = "", faults_on=()) -> tuple[list[dict], float, float, dict]:
    """Start the clients, let them sign in, start them together; start the fault threads with them.

    Returns (results, start, end, CPU seconds used from start to end by the
    server and by the whole machine)."""
    url = srv.url
    ready, results, go, start_at = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    homes = work / "clients" / phase if phase else work / "clients"
    procs = [ctx.Process(target=loadgen.load_client, args=(
        n, url, f"lawyer{n % LAWYERS}", PASSWORD, homes / f"c{n}", args.upload_share, args.seconds,
        ready, go, start_at, acks, results)) for n in range(args.clients)]
    for p in procs:
        p.start()
    for _ in procs:
        n, err = ready.get(timeout=600)
        if err:
            raise RuntimeError(f"client {n} could not start: {err}")
    server0, machine0 = server_cpu(srv), machine_cpu()
    start_at.value = time.time()
    go.set()
    for f in faults_on:
        f.start()
    out = [results.get(timeout=args.seconds + 900) for _ in procs]  # before join: a full pipe blocks exit
    end, machine1 = time.time(), machine_cpu()
    for f in faults_on:
        f.stop.set()
        f.join()
    cpu = {"server": server_cpu(srv) - server0, "busy": machine1[0] - machine0[0], "total": machine1[1] - machine0[1]}
    for p in procs:
        p.join()
    return out, start_at.value, end, cpu


def scan_logs(logs: Path, windows: dict[str, tuple[float, float]]) -> dict:
    """What the logs say: responses by HTTP status (access log); for requests logged
    during each load window, their statuses, the workers' busy seconds, the search
    requests' times and when each 503 was answered; lines matching each LOG_PATTERN in
    every log, and the first of them with 30 lines after; for each traceback, the log
    line just before it (what logged it)."""
    out: dict = {"statuses": Counter(), "hits": Counter({p: 0 for p in LOG_PATTERNS}), "excerpt": [],
                 "traceback_after": Counter(),
                 "phase": {k: {"statuses": Counter(), "busy_s": 0.0, "search_s": [], "at_503": []} for k in windows}}
    # '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)s' (config/gunicorn.conf.py)
    line_re = re.compile(r'\[([^\]]+)\] "(\S+) (\S+)" (\d{3}) \S+ ([\d.]+)')
    access = logs / "access.log"
    for line in access.read_text(errors="replace").splitlines() if access.exists() else []:
        if m := line_re.search(line):
            when = datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()
            status = int(m.group(4))
            out["statuses"][status] += 1
            for name, (t0, t1) in windows.items():
                if t0 - 1 <= when <= t1 + 1:  # the log has whole seconds
                    ph = out["phase"][name]
                    ph["statuses"][status] += 1
                    ph["busy_s"] += float(m.group(5))
                    if m.group(3).endswith("/search"):
                        ph["search_s"].append(float(m.group(5)))
                    if status == 503:
                        ph["at_503"].append(when)
    for f in sorted(logs.glob("*.log")):
        lines = f.read_text(errors="replace").splitlines()
        found = [i for i, line in enumerate(lines) if any(p in line for p in LOG_PATTERNS)]
        for p in LOG_PATTERNS:
            out["hits"][p] += sum(p in lines[i] for i in found)
        for i in found:
            chained = any(lines[j].startswith(("The above exception", "During handling")) for j in range(max(0, i - 3), i))
            if lines[i].startswith("Traceback") and i > 0 and not chained:  # one per logged error, not per link
                out["traceback_after"][re.sub(r"\d+", "N", lines[i - 1])[:100]] += 1
        if found:
            out["excerpt"] += [f"--- {f.name}:{found[0] + 1}", *lines[found[0]:found[0] + 31]]
    return out


def wait_for_workers(srv, workers: int, limit: float = 120) -> float | None:
    """Seconds until the arbiter has all its workers and the server answers again; None if it never does."""
    import requests

    t = time.time()
    while time.time() - t < limit:
        try:
            if len(srv.worker_pids()) == workers and requests.get(srv.url + "/api/v1/health", timeout=5).ok:
                return time.time() - t
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return None


def print_load(label: str, run: dict, ref: dict, args, logs_phase: dict, db_name: str, watcher) -> None:
    """The figures of one load window, with the idle reference next to them."""
    done = [op for r in run["results"] for op in r["ops"]]
    acked, span, cpu, ref_ops = run["acked"], run["t1"] - run["t0"], run["cpu"], ref["ops"]
    print(f"\n{label}: {args.clients} clients × {args.seconds:g} s ({span:.1f} s until the last operation ended), "
          f"{args.workers} workers, {db_name}, uploads {args.upload_share:.0%} of "
          f"operations, sizes 64 KiB–8 MiB log-uniform")
    print(f"{'':8}{'ops':>7}{'failed':>8}{'ops/s':>8}{'median':>9}{'p95':>8}{'p99':>8}"
          f"   {'1 client idle':>13}{'slowdown':>10}   (seconds)")
    for kind in ("upload", "search"):
        mine = [op for op in done if op[0] == kind]
        ok = [op[2] for op in mine if not op[4]]
        ref_ok = [op[2] for op in ref_ops if op[0] == kind and not op[4]]
        med, ref_med = pct(ok, 50), pct(ref_ok, 50)
        print(f"{kind:8}{len(mine):7}{len(mine) - len(ok):8}{len(mine) / span:8.1f}{med:9.3f}{pct(ok, 95):8.3f}"
              f"{pct(ok, 99):8.3f}   {ref_med:13.3f}{med / ref_med:9.1f}×")
    up_bytes = sum(it["size"] for it in acked)
    print(f"uploaded: {len(acked)} items acknowledged, {up_bytes / 1e6:.0f} MB, {up_bytes / 1e6 / span:.1f} MB/s "
          f"(idle reference {loadgen.MEDIAN_SIZE / 1e6 / pct([o[2] for o in ref_ops if o[0] == 'upload'], 50):.1f} "
          f"MB/s for one client)")
    errs = Counter((op[3], op[4]) for op in done if op[4])
    print("client-visible errors (after the client library's retries): "
          + (", ".join(f"{s or '-'} {c}: {n}" for (s, c), n in sorted(errs.items())) or "none"))
    print(f"server responses by status (access log, {'every request incl. retried ones' if not args.faults else 'during this load, retried requests included'}): "
          + ", ".join(f"{s}: {n}" for s, n in sorted((logs_phase["statuses"] if args.faults else run["all_statuses"]).items())))
    fresh_load = [watcher.seen[it["item_id"]] - it["acked_at"] for it in acked if it["item_id"] in watcher.seen]
    fresh_ref = [watcher.seen[it["item_id"]] - it["acked_at"] for it in ref["acked"] if it["item_id"] in watcher.seen]
    print(f"search freshness, acknowledged → findable (polled every {Watcher.PAUSE} s): under load median "
          f"{pct(fresh_load, 50):.1f} s, max {max(fresh_load, default=float('nan')):.1f} s; idle median "
          f"{pct(fresh_ref, 50):.1f} s" + (f"; index drained {run['drained_in']:.1f} s after the load"
                                           if "drained_in" in run else ""))
    client_cpu = sum(r["cpu_s"] for r in run["results"])
    cores = os.cpu_count() or 1
    busy, total, server_cpu_s = cpu["busy"], cpu["total"], cpu["server"]
    print(f"CPU during the load: {total:.0f} s on {cores} cores, {busy / total:.0%} busy: clients "
          f"{client_cpu / total:.0%}, server {server_cpu_s / total:.0%}, other processes (PostgreSQL among them, when used) "
          f"{max(0.0, busy - client_cpu - server_cpu_s) / total:.0%}")
    print(f"server side: the {args.workers} workers were in a request {logs_phase['busy_s'] / (args.workers * span):.0%} "
          f"of the load; a search took {pct(logs_phase['search_s'], 50) * 1000:.0f} ms in the worker (median), the rest "
          f"of what a client saw is waiting for a free worker and for the CPU")


def phase_row(run: dict, logs_phase: dict) -> dict:
    """The soak table's figures of one load window."""
    done = [op for r in run["results"] for op in r["ops"]]
    span = run["t1"] - run["t0"]
    ups = [op for op in done if op[0] == "upload"]
    finds = [op for op in done if op[0] == "search"]
    errs = Counter((op[3], op[4]) for op in done if op[4])
    statuses = logs_phase["statuses"]
    windows = run.get("windows", [])
    in_outage = [t for t in logs_phase["at_503"] if any(a - 2 <= t <= b + 2 for a, b in windows)]
    return {
        "acked": len(run["acked"]), "mb_s": sum(it["size"] for it in run["acked"]) / 1e6 / span,
        "uploads_s": len(ups) / span, "searches_s": len(finds) / span,
        "upload_med": pct([op[2] for op in ups if not op[4]], 50), "search_med": pct([op[2] for op in finds if not op[4]], 50),
        "upload_failed": sum(1 for op in ups if op[4]), "search_failed": sum(1 for op in finds if op[4]),
        "errs": errs, "kills": len(run.get("kills", [])), "respawn_s": run.get("respawn_s"),
        "outage_s": sum(b - a for a, b in windows), "outages": len(windows),
        "answered_503": statuses.get(503, 0), "in_outage_503": len(in_outage),
        "other_5xx": sum(n for st, n in statuses.items() if st >= 500 and st != 503),
        "client_5xx": sum(n for (st, _), n in errs.items() if st >= 500),
        "requests": sum(statuses.values()),
    }


def print_soak_table(plain: dict, soak: dict, lost: dict, fault_kind: str, args) -> None:
    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    rows = [
        ("items acknowledged", plain["acked"], soak["acked"]),
        ("acknowledged MB/s", plain["mb_s"], soak["mb_s"]),
        ("uploads/s (attempted)", plain["uploads_s"], soak["uploads_s"]),
        ("searches/s (attempted)", plain["searches_s"], soak["searches_s"]),
        ("upload median s (succeeded)", plain["upload_med"], soak["upload_med"]),
        ("search median s (succeeded)", plain["search_med"], soak["search_med"]),
        ("uploads failed after retries", plain["upload_failed"], soak["upload_failed"]),
        ("searches failed after retries", plain["search_failed"], soak["search_failed"]),
        ("workers killed (SIGKILL)", plain["kills"], soak["kills"]),
        ("database outage s (count)", f"{plain['outage_s']:.1f} ({plain['outages']})",
         f"{soak['outage_s']:.1f} ({soak['outages']})"),
        ("requests answered (access log)", plain["requests"], soak["requests"]),
        ("503 answered (in an outage ±2 s)", f"{plain['answered_503']} ({plain['in_outage_503']})",
         f"{soak['answered_503']} ({soak['in_outage_503']})"),
        ("other 5xx answered", plain["other_5xx"], soak["other_5xx"]),
        ("5xx seen by clients after retries", plain["client_5xx"], soak["client_5xx"]),
        ("acknowledged items lost", lost["load"], lost["faults"]),
    ]
    print(f"\nFault soak: a worker killed every {args.kill_every:g} s (±40 %), {args.outages} outages of "
          f"{args.outage_seconds:g} s: {fault_kind}")
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'plain minute':>14}  {'with faults':>14}  {'ratio':>6}")
    for label, a, b in rows:
        ratio = f"{b / a:.2f}" if isinstance(a, float | int) and isinstance(b, float | int) and a and "/s" in label else ""
        print(f"{label:{width}}  {cell(a):>14}  {cell(b):>14}  {ratio:>6}")
    for name, row in (("plain minute", plain), ("with faults", soak)):
        errs = row["errs"]
        print(f"client-visible errors, {name}: "
              + (", ".join(f"{s or '-'} {c}: {n}" for (s, c), n in sorted(errs.items())) or "none"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--upload-share", type=float, default=0.4, help="probability an operation is an upload")
    ap.add_argument("--reference-rounds", type=int, default=20)
    ap.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for the index to catch up")
    ap.add_argument("--database-url", default="", help="a PostgreSQL server; a fresh database is made on it")
    ap.add_argument("--keep", action="store_true", help="keep the data folder (and database) for inspection")
    ap.add_argument("--quick", action="store_true", help="8 clients for 10 s, 5 reference rounds")
    ap.add_argument("--faults", action="store_true",
                    help="after the plain load, the same load again with killed workers and database outages")
    ap.add_argument("--kill-every", type=float, default=5, help="with --faults: seconds between worker kills (±40%%)")
    ap.add_argument("--outages", type=int, default=2, help="with --faults: how many database outages")
    ap.add_argument("--outage-seconds", type=float, default=3, help="with --faults: how long each outage lasts")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.seconds, args.reference_rounds = 8, 10, 5

    from tests.conftest import Gunicorn, make_env
    from vault import ops
    from vault.client.session import ClientSession
    from vault.services.vault import open_vault

    work = Path(tempfile.mkdtemp(prefix="vault-load-"))
    db_url = fresh_postgres(args.database_url) if args.database_url else ""
    proxy = None
    if args.faults and db_url:
        from urllib.parse import urlsplit

        from tests.tcpproxy import Proxy

        proxy = Proxy(urlsplit(db_url).port or 5432)  # the workers reach PostgreSQL only through it
    env = make_env(work, via_port(db_url, proxy.port) if proxy else db_url)
    db_name = "PostgreSQL" if db_url else "SQLite"
    ctx = mp.get_context("spawn")
    load_avg = os.getloadavg()[0]
    print(f"Data folder {env.data_dir}; {db_name}; {args.workers} workers; "
          f"{args.clients} client processes for {args.seconds:g} s{' (twice: plain, then with faults)' if args.faults else ''}; "
          f"{os.cpu_count()} cores, load average before {load_avg:.1f}", flush=True)
    srv = Gunicorn(env, workers=args.workers)
    phases = ["load", "faults"] if args.faults else ["load"]
    runs: dict[str, dict] = {}
    fault_kind = ""
    try:
        cases = set_up(srv, env, work)
        print(f"{LAWYERS} lawyers, {LAWYERS * CASES_EACH} cases, {LAWYERS} of them shared by two lawyers; "
              f"each lawyer is a member of {min(len(c) for n, c in cases.items() if n != 'watcher')}–"
              f"{max(len(c) for n, c in cases.items() if n != 'watcher')} cases", flush=True)
        watcher_sess = ClientSession.login(srv.url, "watcher", PASSWORD, home=work / "homes/watcher")
        acks = ctx.Queue()
        watcher = Watcher(watcher_sess, acks)
        watcher.start()

        print(f"Reference: {args.reference_rounds} uploads of {loadgen.MEDIAN_SIZE // 1024} KiB and "
              f"{args.reference_rounds} searches by one client on the idle server …", flush=True)
        ref_out = ctx.Queue()
        p = ctx.Process(target=loadgen.reference, args=(srv.url, "lawyer0", PASSWORD, work / "clients/ref",
                                                        args.reference_rounds, 3 * args.workers, acks, ref_out))
        p.start()
        ref = ref_out.get(timeout=900)
        p.join()
        time.sleep(2 * Watcher.PAUSE + 1)  # let the idle index catch up, so the load starts clean

        for phase in phases:
            threads: list = []
            if phase == "faults":
                fault = faults.PostgresDown(proxy) if proxy else faults.SqliteLocked(
                    env.config.db_url.removeprefix("sqlite:///"))
                fault_kind = fault.kind
                killer = faults.WorkerKiller(srv, args.kill_every)
                outage = faults.DatabaseOutage(fault, args.seconds, args.outages, args.outage_seconds)
                threads = [killer, outage]
                print(f"Load with faults: a worker killed every {args.kill_every:g} s, {args.outages} × "
                      f"{args.outage_seconds:g} s of {fault.kind} …", flush=True)
            else:
                print("Load …", flush=True)
            results, t0, t1, cpu = run_load(ctx, srv, work, args, acks, phase if args.faults else "", threads)
            run = runs[phase] = {"results": results, "t0": t0, "t1": t1, "cpu": cpu,
                                 "acked": [it for r in results for it in r["acked"]]}
            if phase == "faults":
                run["kills"], run["windows"] = killer.kills, outage.windows
                run["respawn_s"] = wait_for_workers(srv, args.workers)
            if len(phases) > 1:
                time.sleep(2 * Watcher.PAUSE + 1)  # the next load starts on a settled server
        acked = [it for ph in phases for it in runs[ph]["acked"]]
        for it in ref["acked"] + acked:  # anything the live queue has not delivered yet
            watcher.add(it)
        print("Waiting for the search index to catch up …", flush=True)
        runs[phases[-1]]["drained_in"] = watcher.drain(args.drain_timeout)

        print("Verifying every acknowledged item (list, download, compare) …", flush=True)
        every = sorted(ref["acked"] + acked, key=lambda it: it["case_id"])
        nproc = max(1, min(2, os.cpu_count() or 1))
        with ctx.Pool(nproc) as pool:
            checks = pool.starmap(loadgen.verify_items, [
                (srv.url, "watcher", PASSWORD, work / "homes" / f"verify{i}", every[i::nproc]) for i in range(nproc)])
        others = None
        if args.faults:
            print("Verifying every stored item nobody was told about (a finish whose answer was lost) …", flush=True)
            others = loadgen.verify_unacknowledged(srv.url, "watcher", PASSWORD, work / "homes/verify-others",
                                                   sorted({c for cs in cases.values() for c in cs}),
                                                   {it["item_id"] for it in every})
    finally:
        srv.stop()

    v = open_vault(env.config)
    try:
        fsck = ops.fsck(v, repair=False, deep=True)
        chain = ops.audit_verify(v)
    finally:
        v.db.dispose()
        if proxy:
            proxy.close()
    logs = scan_logs(env.data_dir / "logs", {ph: (runs[ph]["t0"], runs[ph]["t1"]) for ph in phases})
    statuses, log_hits = logs["statuses"], logs["hits"]
    runs["load"]["all_statuses"] = statuses

    # ------------------------------------------------------------------ report
    for ph in phases:
        print_load("Load" if ph == "load" else "Load with faults", runs[ph], ref, args, logs["phase"][ph], db_name,
                   watcher)
    if watcher.errors:
        print("watcher search errors: " + ", ".join(f"{s} {c}: {n}" for (s, c), n in watcher.errors.items()))

    missing = [x for c in checks for x in c["missing_from_case"]]
    bad = [x for c in checks for x in c["bad_download"]]
    unfound = [it["item_id"] for it in every if it["item_id"] not in watcher.seen]
    lost = set(missing) | {i for i, _ in bad} | set(unfound)
    print(f"\nacknowledged items: {len(every)} ({len(ref['acked'])} reference + "
          + " + ".join(f"{len(runs[ph]['acked'])} {ph}" for ph in phases)
          + f"); item rows in the database: {fsck.items_checked} (a finish whose answer was lost is stored but "
          f"unacknowledged)")
    print(f"  listed in their case {len(every) - len(missing)}, downloaded byte-identical "
          f"{sum(c['checked'] for c in checks) - len(bad)}, found by search {len(every) - len(unfound)}")
    for iid, why in bad[:10]:
        print(f"  BAD {iid}: {why}")
    if others is not None:
        print(f"stored but unacknowledged items: {others['checked']}, each downloaded and verified (hash, stream, "
              f"signature): {others['checked'] - len(others['bad'])} whole, {len(others['bad'])} half-written")
        for iid, why in others["bad"][:10]:
            print(f"  BAD {iid}: {why}")
    print(f"fsck (deep, dry run): {'ok' if fsck.ok else 'PROBLEMS'}; missing {len(fsck.missing_blobs)}, bad size "
          f"{len(fsck.bad_size)}, bad hash {len(fsck.bad_hash)}, bad receipt {len(fsck.bad_receipt)}, "
          f"unfinished uploads {len(fsck.stale_uploads)}, orphan blobs {len(fsck.orphan_blobs)}")
    print(f"audit chain: {'verifies' if chain.ok else 'BROKEN at entry ' + str(chain.first_bad_seq) + ': ' + chain.reason}"
          f" ({chain.entries} entries, {chain.checkpoints} checkpoints)")
    print("log lines: " + ", ".join(f"{p!r} {n}" for p, n in log_hits.items()))
    for src, n in logs["traceback_after"].items():
        print(f"  {n} error(s) with a traceback, logged after: {src}")
    for line in logs["excerpt"]:
        print("  | " + line)

    lock_errors = log_hits["LockError"] + log_hits["database is locked"]
    plain = phase_row(runs["load"], logs["phase"]["load"])
    if not args.faults:
        server_5xx = sum(n for s, n in statuses.items() if s >= 500)
        client_5xx = plain["client_5xx"] + sum(n for (s, _), n in watcher.errors.items() if s >= 500)
        targets = [
            (f"no 5xx (access log {server_5xx}, seen by clients {client_5xx})", server_5xx + client_5xx == 0),
            (f"nothing lost ({len(lost)} of {len(every)} acknowledged items lost; fsck "
             f"{'ok' if fsck.ok else 'not ok'})", not lost and fsck.ok),
            (f"no index lock error ({lock_errors}; tracebacks {log_hits['Traceback']})",
             lock_errors + log_hits["Traceback"] == 0),
        ]
    else:
        soak = phase_row(runs["faults"], logs["phase"]["faults"])
        lost_in = {ph: len(lost & {it["item_id"] for it in runs[ph]["acked"]}) for ph in phases}
        print_soak_table(plain, soak, lost_in, fault_kind, args)
        half = len(others["bad"]) if others else 0
        respawn = runs["faults"]["respawn_s"]
        targets = [
            (f"plain minute: no 5xx (access log {plain['answered_503'] + plain['other_5xx']}, seen by clients "
             f"{plain['client_5xx']})", plain["answered_503"] + plain["other_5xx"] + plain["client_5xx"] == 0),
            (f"with faults: no 5xx but 503 with Retry-After ({soak['other_5xx']}); 503s only during an outage "
             f"({soak['in_outage_503']} of {soak['answered_503']}); none left after the clients' retries "
             f"({soak['client_5xx']})",
             soak["other_5xx"] + soak["client_5xx"] == 0 and soak["in_outage_503"] == soak["answered_503"]),
            (f"nothing lost ({len(lost)} of {len(every)} acknowledged items lost; half-written items visible "
             f"{half}; fsck {'ok' if fsck.ok else 'not ok'}; audit chain {'ok' if chain.ok else 'broken'})",
             not lost and not half and fsck.ok and chain.ok),
            (f"kills survived ({soak['kills']} workers killed; all {args.workers} back and answering "
             + (f"{respawn:.1f} s after the load)" if respawn is not None else "NOT within 120 s)"),
             soak["kills"] > 0 and respawn is not None),
            (f"no index lock error, no unhandled request error ({lock_errors}, {log_hits['unhandled']})",
             lock_errors + log_hits["unhandled"] == 0),
            (f"no traceback in the logs ({sum(logs['traceback_after'].values())} logged errors with one"
             + "".join(f"; {n} after {src!r}" for src, n in logs["traceback_after"].items()) + ")",
             log_hits["Traceback"] == 0),
        ]
    print()
    for label, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    if args.keep:
        import json

        (work / "ops.json").write_text(json.dumps({ph: {
            "t0": runs[ph]["t0"], "t1": runs[ph]["t1"], "kills": runs[ph].get("kills", []),
            "windows": runs[ph].get("windows", []), "ops": [op for r in runs[ph]["results"] for op in r["ops"]],
        } for ph in phases}))
        print(f"kept: {work} (each operation in ops.json)" + (f" and database {db_url}" if db_url else ""))
    else:
        shutil.rmtree(work, ignore_errors=True)
        if db_url:
            drop_postgres(args.database_url, db_url)
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
