"""Drive the PyPI client `painfree` (EBICS 3.0 / H005) against a running kontor-bank.

painfree is an independent client daemon: an HTTP API process (`python -m painfree serve`)
and a worker process (`python -m painfree worker`) that holds the keys and talks to the
bank. This script starts both on loopback with a throw-away SQLite database, then walks the
subscriber through the whole lifecycle the way an operator would: the console's form routes
for the key ceremony (they only queue key jobs; the worker performs them), the JSON API for
connections, download schedules and payments. Every step is a stage that passes, fails
(with the reason and the bank's return code) or is skipped because an earlier stage it
needs failed. What each stage checks on the bank's side goes through the emulator's admin
API only.

Run it with the venv's interpreter (`tests/interop-python/.venv/bin/python run.py`); the
summary is one JSON document on stdout, progress goes to stderr, exit code 0 means every
stage passed. See README.md for the environment and FINDINGS.md for what was learned.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html.parser
import io
import json
import os
import pathlib
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

CONNECTION_ID = "kontorbank"
DEV_PRINCIPAL = "interop-harness"

#: The German statement service the bank publishes (demo-bank.toml): camt.053 in a ZIP.
STATEMENT_BTF = {"service_name": "EOP", "msg_name": "camt.053", "msg_version": "08",
                 "scope": "DE", "container": "ZIP"}
#: The payment-level status report service of the bank (DK mapping of CRZ): one pain.002 per
#: uploaded pain.001, naming its MsgId, in a ZIP container.
STATUS_REPORT_BTF = {"service_name": "PSR", "msg_name": "pain.002", "scope": "DE",
                     "service_option": "SCT", "container": "ZIP"}


class StageFailed(Exception):
    """A stage's check did not hold; the message says what was expected and seen."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.detail = detail


def log(message: str) -> None:
    print(f"[interop-python] {message}", file=sys.stderr, flush=True)


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"{name} is required")
    return value


# --- HTTP ---------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The console answers every write with 303; the job id is in its Location."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Http:
    """Loopback only; no proxy from the environment, no redirects followed."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        host = urllib.parse.urlparse(base).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"{base} is not a loopback address")
        self.base = base.rstrip("/")
        self.headers = headers or {}
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  _NoRedirect())

    def call(self, method: str, path: str, *, json_body: Any = None,
             form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             timeout: float = 30.0) -> Reply:
        data = None
        all_headers = {**self.headers, **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=all_headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.call("POST", path, **kwargs)


def expect(reply: Reply, *statuses: int, what: str) -> Reply:
    if reply.status not in statuses:
        raise StageFailed(f"{what}: HTTP {reply.status} (expected {statuses})",
                          body=reply.text()[:2000])
    return reply


def wait_for(what: str, probe: Callable[[], Any], timeout: float,
             interval: float = 0.5) -> Any:
    """Poll `probe` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise StageFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def normalise_hex(value: str) -> str:
    return "".join(value.split()).replace(":", "").lower()


# --- painfree's two processes ---------------------------------------------------------------

class Painfree:
    """`serve` (role api, no custody secret) and `worker` (role worker, holds the secret)."""

    def __init__(self, work: pathlib.Path) -> None:
        self.work = work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = work / "painfree.db"
        self.processes: list[tuple[str, subprocess.Popen[bytes], Any]] = []
        base = {k: v for k, v in os.environ.items()
                if not k.upper().startswith("PAINFREE_")
                and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        base.update({
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "PAINFREE_ENVIRONMENT": "development",
            "PAINFREE_DATABASE_URL": f"sqlite+pysqlite:///{self.database}",
            "PAINFREE_HTTP_HOST": "127.0.0.1",
            "PAINFREE_HTTP_PORT": str(self.port),
            "PAINFREE_LOG_LEVEL": os.environ.get("PAINFREE_HARNESS_LOG_LEVEL", "INFO"),
            "PAINFREE_MIGRATE_ON_STARTUP": "false",
        })
        self.base_env = base
        self.secret = self._painfree(["new-secret"], base).strip()

    def _painfree(self, args: list[str], environment: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-m", "painfree", *args], env=environment,
                              capture_output=True, timeout=120)
        if done.returncode != 0:
            raise StageFailed(f"`painfree {' '.join(args)}` exited {done.returncode}",
                              stdout=done.stdout.decode()[-2000:],
                              stderr=done.stderr.decode()[-2000:])
        return done.stdout.decode()

    def start(self) -> None:
        self._painfree(["migrate"], self.base_env)
        api_env = {**self.base_env, "PAINFREE_ROLE": "api"}
        worker_env = {**self.base_env, "PAINFREE_ROLE": "worker",
                      "PAINFREE_KEY_ENCRYPTION_SECRET": self.secret}
        self._spawn("serve", api_env)
        self._spawn("worker", worker_env)
        http = Http(self.url)

        def ready() -> bool | None:
            for name, process, _ in self.processes:
                if process.poll() is not None:
                    raise StageFailed(f"painfree {name} exited with {process.returncode}; "
                                      f"see {self.work / (name + '.log')}")
            try:
                return True if http.get("/readyz", timeout=2).status == 200 else None
            except OSError:
                return None

        wait_for("painfree /readyz", ready, timeout=60)

    def _spawn(self, command: str, environment: dict[str, str]) -> None:
        out = open(self.work / f"{command}.log", "wb")
        process = subprocess.Popen([sys.executable, "-m", "painfree", command],
                                   env=environment, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=self.work)
        self.processes.append((command, process, out))

    def stop(self) -> None:
        for _, process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for _, process, out in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            out.close()

    def statements_of_run(self, run_id: str) -> list[dict[str, Any]]:
        """What painfree stored for one download run (read-only look at its database)."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT statement_id, message_type, content_hash, iban, "
                              "identification, entry_count, order_id FROM statement "
                              "WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return [dict(row) for row in rows]


# --- the INI letter as painfree renders it ---------------------------------------------------

class LetterParser(html.parser.HTMLParser):
    """Collects `<h2>A006 — …` headings and the `<span class="fingerprint">` under each."""

    def __init__(self) -> None:
        super().__init__()
        self.hashes: dict[str, str] = {}
        self._in: str | None = None
        self._version: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2" or (tag == "span" and ("class", "fingerprint") in attrs):
            self._in, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        if tag == "h2":
            match = re.match(r"\s*([AEX]00\d)", self._text)
            self._version = match.group(1) if match else None
        elif self._version:
            self.hashes[self._version] = normalise_hex(self._text)
        self._in = None


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Stage:
    name: str
    status: str = "pending"
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Harness:
    def __init__(self) -> None:
        self.bank_url = env("BANK_URL")
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlparse(self.bank_url))
        self.admin = Http(env("ADMIN_URL", origin + "/admin"))
        self.host_id = env("HOST_ID")
        self.partner = env("PARTNER_ID")
        self.user = env("USER_ID")
        self.debtor_iban = env("DEBTOR_IBAN", "DE89370400440532013000")
        self.debtor_bic = env("DEBTOR_BIC", "COBADEFFXXX")
        self.debtor_name = env("DEBTOR_NAME", "Muster Maschinenbau GmbH")
        self.creditor_iban = env("CREDITOR_IBAN", "DE02500105170137075030")
        self.creditor_bic = env("CREDITOR_BIC", "INGDDEFFXXX")
        self.window_days = int(env("WINDOW_DAYS", "3"))
        self.timeout = float(env("STEP_TIMEOUT_SECONDS", "90"))
        out = os.environ.get("OUT_DIR")
        self.out = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix="painfree-"))
        self.out.mkdir(parents=True, exist_ok=True)
        self.stages: list[Stage] = []
        self.painfree: Painfree | None = None
        self.api: Http | None = None
        self.facts: dict[str, Any] = {}

    # -- bookkeeping --

    def stage(self, name: str, needs: tuple[str, ...], body: Callable[[], dict[str, Any] | None]) -> bool:
        stage = Stage(name)
        self.stages.append(stage)
        missing = [n for n in needs if not self.passed(n)]
        if missing:
            stage.status = "skipped"
            stage.error = f"needs {', '.join(missing)}"
            log(f"SKIP {name}: {stage.error}")
            return False
        log(f"---- {name}")
        started = time.monotonic()
        try:
            stage.detail = body() or {}
            stage.status = "passed"
        except StageFailed as failure:
            stage.status, stage.error, stage.detail = "failed", str(failure), failure.detail
        except Exception as exc:  # the harness reports, it does not crash
            stage.status, stage.error = "failed", f"{type(exc).__name__}: {exc}"
            stage.detail = {"traceback": traceback.format_exc(limit=5)}
        stage.seconds = round(time.monotonic() - started, 2)
        log(f"{stage.status.upper()} {name} ({stage.seconds}s)"
            + (f": {stage.error}" if stage.error else ""))
        return stage.status == "passed"

    def passed(self, name: str) -> bool:
        return any(s.name == name and s.status == "passed" for s in self.stages)

    # -- painfree helpers --

    def console_form(self, path: str, form: dict[str, str] | None = None) -> Reply:
        assert self.api
        reply = self.api.post(path, form=form or {})
        return expect(reply, 303, what=f"POST {path}")

    def key_job(self, action: str, form: dict[str, str] | None = None, *,
                must_succeed: bool = True) -> dict[str, Any]:
        """Queue a key job through the console and wait for the worker's outcome."""
        assert self.api
        reply = self.console_form(f"/ui/connections/{CONNECTION_ID}/keys/{action}", form)
        location = reply.headers.get("location") or reply.headers.get("Location") or ""
        job = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("job", [""])[0]
        if not job:
            raise StageFailed(f"{action}: no job id in the redirect {location!r}")
        api = self.api

        def finished() -> dict[str, Any] | None:
            events = expect(api.get(f"/v1/audit?job_id={job}&action=key.job_finished"),
                            200, what="audit").json()["events"]
            return events[0]["detail"] if events else None

        detail = wait_for(f"key job {action} ({job})", finished, self.timeout)
        if must_succeed and detail.get("job_state") != "done":
            raise StageFailed(f"{action} failed: {detail.get('error')}",
                              return_code=detail.get("return_code"),
                              report_text=detail.get("report_text"), job=detail)
        return detail

    def connection(self) -> dict[str, Any]:
        assert self.api
        rows = expect(self.api.get("/v1/connections"), 200, what="connections").json()
        return next(c for c in rows["connections"] if c["connection_id"] == CONNECTION_ID)

    def bank_user(self) -> dict[str, Any]:
        return expect(self.admin.get(f"/users/{self.partner}/{self.user}"), 200,
                      what="bank subscriber").json()

    def bank_orders(self) -> list[dict[str, Any]]:
        orders = expect(self.admin.get("/orders?include_content=true"), 200,
                        what="bank orders").json()["orders"]
        return [o for o in orders
                if o.get("partner_id") == self.partner and o.get("user_id") == self.user]

    # -- stages --

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self.ceremony()
            for order_type in ("HTD", "HAA", "HPD"):
                self.stage(order_type, ("BANK_KEYS",),
                           lambda o=order_type: self.catalogue(o))
            self.stage("X002_CHECKED", ("HTD",), self.forged_response_refused)
            self.stage("BTD", ("BANK_KEYS",), self.statements)
            self.stage("BTD_ZIP", ("BTD",), self.statements_zipped)
            self.stage("BTU", ("BANK_KEYS",), self.payment)
            self.stage("BTU_IDEMPOTENT", ("BTU",), self.payment_replayed)
            self.stage("PSR", ("BTU",), self.status_report)
            self.stage("BTU_LOST_ANSWER", ("BTU_IDEMPOTENT",), self.lost_answer)
        finally:
            if self.painfree:
                self.painfree.stop()
        summary = {
            "ok": all(s.status == "passed" for s in self.stages),
            "seconds": round(time.monotonic() - started, 1),
            "painfree_version": self.facts.get("painfree_version"),
            "succeeded": [s.name for s in self.stages if s.status == "passed"],
            "failed": [s.name for s in self.stages if s.status == "failed"],
            "skipped": [s.name for s in self.stages if s.status == "skipped"],
            "stages": [s.__dict__ for s in self.stages],
            "out_dir": str(self.out),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        return summary

    def ceremony(self) -> None:
        """Start painfree and bring its subscriber to `ready` (stages START ... BANK_KEYS)."""
        self.stage("START", (), self.start)
        self.stage("CONNECTION", ("START",), self.register_connection)
        self.stage("CUSTODY", ("CONNECTION",), self.acknowledge_custody)
        self.stage("KEYS", ("CUSTODY",), self.create_keys)
        self.stage("INI", ("KEYS",), lambda: self.registration("send_ini", "signature"))
        self.stage("HIA", ("INI",), lambda: self.registration("send_hia", "authentication"))
        self.stage("LETTER", ("HIA",), self.letter)
        self.stage("ACTIVATE", ("LETTER",), self.activate)
        self.stage("HPB", ("ACTIVATE",), self.hpb)
        self.stage("BANK_KEYS", ("HPB",), self.confirm_bank_keys)

    def start(self) -> dict[str, Any]:
        health = expect(self.admin.get("/health"), 200, what="bank health").json()
        if "H005" not in health.get("protocol_versions", []):
            raise StageFailed("the bank does not offer H005", health=health)
        import painfree  # the venv's copy; only its version is read here

        self.facts["painfree_version"] = painfree.__version__
        self.painfree = Painfree(self.out)
        self.painfree.start()
        self.api = Http(self.painfree.url, {"X-Painfree-Dev-Principal": DEV_PRINCIPAL})
        return {"painfree": self.painfree.url, "version": painfree.__version__}

    def register_connection(self) -> dict[str, Any]:
        assert self.api
        created = expect(self.api.post("/v1/connections", json_body={
            "connection_id": CONNECTION_ID, "host_id": self.host_id,
            "partner_id": self.partner, "user_id": self.user,
            "host_url": self.bank_url}), 201, what="register connection").json()
        # A German bank: SEPA credit transfers are announced as SCT without a scope (the
        # demo bank's upload offer), not painfree's Swiss default MCT/CH. The order is
        # executed on this single E signature (requestEDS="false"), not sent to the VEU.
        self.console_form(f"/ui/connections/{CONNECTION_ID}/edit", {
            "host_url": self.bank_url, "letter_digest": "certificate",
            "scheme_default": "normal", "normal_service_name": "SCT",
            "normal_scope": "", "normal_service_option": ""})
        after = self.connection()
        normal = after["payment_schemes"]["normal"]
        if normal.get("service_name") != "SCT" or normal.get("scope"):
            raise StageFailed("the SCT profile did not stick", schemes=after["payment_schemes"])
        return {"ebics_version": created["ebics_version"], "key_state": after["key_state"],
                "normal_scheme": normal}

    def acknowledge_custody(self) -> None:
        self.console_form("/ui/recovery/acknowledge")

    def create_keys(self) -> dict[str, Any]:
        job = self.key_job("create_keys", {"common_name": self.user,
                                           "organisation": self.partner, "country": "DE"})
        return {"fingerprints": job["result"].get("fingerprints")}

    def registration(self, action: str, key: str) -> dict[str, Any]:
        job = self.key_job(action)
        if job.get("return_code") != "000000":
            raise StageFailed(f"{action}: return code {job.get('return_code')}", job=job)
        user = self.bank_user()
        if not user["keys"].get(key):
            raise StageFailed(f"the bank holds no {key} key after {action}", user=user)
        return {"return_code": job["return_code"], "bank_status": user["status"]}

    def letter(self) -> dict[str, Any]:
        assert self.api
        page = expect(self.api.get(f"/ui/connections/{CONNECTION_ID}/letter"), 200,
                      what="INI letter").text()
        (self.out / "ini-letter.html").write_text(page)
        parser = LetterParser()
        parser.feed(page)
        printed = parser.hashes
        user = self.bank_user()
        received = {"A006": user["keys"]["signature"]["hash_sha256_hex"],
                    "X002": user["keys"]["authentication"]["hash_sha256_hex"],
                    "E002": user["keys"]["encryption"]["hash_sha256_hex"]}
        if {v: normalise_hex(h) for v, h in received.items()} != printed:
            raise StageFailed("the letter's hashes differ from the keys the bank received",
                              letter=printed, bank=received)
        self.facts["letter"] = printed
        return {"letter": printed, "bank_status": user["status"]}

    def activate(self) -> dict[str, Any]:
        letter = self.facts["letter"]
        reply = self.admin.post(f"/users/{self.partner}/{self.user}/activate", json_body={
            "letter": {"signature": letter["A006"], "authentication": letter["X002"],
                       "encryption": letter["E002"]}})
        status = expect(reply, 200, what="clerk activation").json()["status"]
        if status.lower() != "ready":
            raise StageFailed(f"subscriber status {status} after activation")
        return {"bank_status": status}

    def bank_keys(self) -> dict[str, Any]:
        published = expect(self.admin.get("/bank-keys"), 200, what="bank keys").json()
        if not published.get("h005"):
            raise StageFailed("the bank publishes no H005 (certificate) key hashes")
        return published["h005"]

    def hpb(self) -> dict[str, Any]:
        job = self.key_job("fetch_hpb")
        staged = {role: normalise_hex(h)
                  for role, h in job["result"]["staged_fingerprints"].items()}
        published = self.bank_keys()
        expected = {role: normalise_hex(published[role]["hash_sha256_hex"])
                    for role in ("authentication", "encryption")}
        if staged != expected:
            raise StageFailed("painfree's fingerprints of the received bank keys differ from "
                              "the bank's letter", painfree=staged, bank=expected)
        return {"return_code": job.get("return_code"), "fingerprints": staged,
                "digest": job["result"].get("digest")}

    def confirm_bank_keys(self) -> dict[str, Any]:
        published = self.bank_keys()
        # Typed as a person reads them off the bank's letter: upper-case pairs.
        job = self.key_job("confirm_bank_keys", {
            "authentication": published["authentication"]["letter_format"],
            "encryption": published["encryption"]["letter_format"]})
        state = self.connection()["key_state"]
        if state != "ready":
            raise StageFailed(f"connection key state {state} after the confirmation")
        return {"key_state": state, "result": job["result"]}

    def catalogue(self, order_type: str) -> dict[str, Any]:
        job = self.key_job("fetch_catalogue", {"order_type": order_type})
        result = job["result"]
        if not result.get("stored") or not result.get("acknowledged"):
            raise StageFailed(f"{order_type} was not stored and acknowledged", job=job)
        if not result.get("readable"):
            raise StageFailed(f"painfree could not read the {order_type} document", job=job)
        return {"return_code": job.get("return_code"), "bytes": result.get("bytes"),
                "exchanges": result.get("exchanges")}

    def forged_response_refused(self) -> dict[str, Any]:
        """painfree checks the bank's X002 signature: a corrupted one fails the download."""
        installed = expect(self.admin.post("/faults", json_body={
            "name": "painfree interop: corrupt the X002 signature of one HTD answer",
            "match": {"order_type": "HTD", "partner_id": self.partner, "user_id": self.user},
            "action": {"kind": "wrong_auth_signature"}, "times": 1}), 201,
            what="install fault").json()
        try:
            job = self.key_job("fetch_catalogue", {"order_type": "HTD"}, must_succeed=False)
        finally:
            self.admin.call("DELETE", f"/faults/{installed['installed'][0]}")
        if job.get("job_state") != "failed":
            raise StageFailed("painfree accepted an answer whose X002 signature is wrong",
                              job=job)
        return {"error": job.get("error")}

    def download(self, btf: dict[str, str], window_days: int | None) -> dict[str, Any]:
        """Register a schedule for one BTF, run it now, and return the finished run."""
        assert self.api
        api = self.api
        body = {"connection_id": CONNECTION_ID, "cadence_seconds": 86400, **btf}
        if window_days is not None:
            body["window_days"] = window_days
        schedule = expect(api.post("/v1/schedules", json_body=body), 201,
                          what="register schedule").json()
        schedule_id = schedule["schedule_id"]
        expect(api.post(f"/v1/schedules/{schedule_id}/run"), 202, what="run schedule")

        def finished() -> dict[str, Any] | None:
            runs = expect(api.get(f"/v1/schedules/{schedule_id}/runs"), 200,
                          what="schedule runs").json()["runs"]
            done = [r for r in runs if r["finished"] or r["state"] not in ("running",)]
            return done[0] if done else None

        # The download worker polls every 15 s when idle.
        return wait_for(f"download {btf['service_name']}/{btf['msg_name']}", finished,
                        self.timeout + 20)

    def statements(self) -> dict[str, Any]:
        assert self.painfree
        run = self.download(STATEMENT_BTF, self.window_days)
        self.facts["statement_run"] = run
        if run["state"] != "complete" or not run["acknowledged"]:
            raise StageFailed(f"download run {run['state']} (return code "
                              f"{run['return_code']}): {run['last_error'] or run['report_text']}",
                              run=run)
        start, end = run["window_start"], run["window_end"]
        generated = expect(self.admin.get(
            f"/statements?partner={self.partner}&order_type=C53&from={start}&to={end}"),
            200, what="the bank's statement for the window").body
        (self.out / f"C53-{start}_{end}.bank").write_bytes(generated)
        documents = unpack(generated)
        expected = sorted(hashlib.sha256(d).hexdigest() for d in documents)
        stored = self.painfree.statements_of_run(run["run_id"])
        stored_hashes = sorted({row["content_hash"] for row in stored})
        detail = {"window": [start, end], "bytes": run["bytes"], "segments": run["segments"],
                  "documents": run["documents"], "statements": len(stored),
                  "bank_bytes": len(generated), "bank_documents": len(documents)}
        if run["bytes"] != len(generated):
            raise StageFailed("painfree received another payload size than the bank "
                              "generated for the window", **detail)
        if stored_hashes != expected:
            raise StageFailed("the documents painfree stored are not byte-identical to the "
                              "bank's", painfree=stored_hashes, bank=expected, **detail)
        return detail

    def statements_zipped(self) -> dict[str, Any]:
        run = self.facts["statement_run"]
        start, end = run["window_start"], run["window_end"]
        generated = (self.out / f"C53-{start}_{end}.bank").read_bytes()
        if not generated.startswith(b"PK\x03\x04"):
            raise StageFailed("the BTF announces containerType ZIP but the bank delivered "
                              f"a bare document ({generated[:40]!r}...)")
        with zipfile.ZipFile(io.BytesIO(generated)) as archive:
            names = archive.namelist()
        listed = expect(self.admin.get(
            f"/statements/members?partner={self.partner}&order_type=C53&from={start}&to={end}"),
            200, what="the members the bank put into the container").json()
        if [m["name"] for m in listed] != names:
            raise StageFailed("the container's members are not the ones the bank lists",
                              container=names, listed=[m["name"] for m in listed])
        if len(names) < 2 or run["documents"] != len(names):
            raise StageFailed(f"painfree took {run['documents']} documents from a container "
                              f"of {len(names)} members (one per account and day)",
                              members=names)
        return {"members": names, "painfree_documents": run["documents"]}

    def payment_instruction(self) -> dict[str, Any]:
        execution = dt.date.today() + dt.timedelta(days=1)
        while execution.weekday() >= 5:
            execution += dt.timedelta(days=1)
        return {
            "debtor": {"name": self.debtor_name},
            "debtor_iban": self.debtor_iban, "debtor_bic": self.debtor_bic,
            "requested_execution_date": execution.isoformat(),
            "transactions": [{
                "amount": "1234.56", "currency": "EUR",
                "creditor": {"name": "Beispiel Handel AG",
                             "postal_address": {"town": "Frankfurt", "country": "DE"}},
                "creditor_iban": self.creditor_iban, "creditor_bic": self.creditor_bic,
                "end_to_end_id": "E2E-INTEROP-1",
                "remittance_information": "Invoice 4711 interop"}],
        }

    def submit(self, instruction: dict[str, Any], key: str) -> dict[str, Any]:
        assert self.api
        return expect(self.api.post(f"/v1/connections/{CONNECTION_ID}/payments",
                                    json_body=instruction, headers={"Idempotency-Key": key}),
                      202, what="submit payment").json()

    def settled(self, order_id: str, timeout: float) -> dict[str, Any]:
        """Wait until the worker has brought the order to a state it leaves alone."""
        assert self.api
        api = self.api

        def terminal() -> dict[str, Any] | None:
            current = expect(api.get(f"/v1/orders/{order_id}"), 200, what="order").json()
            return current if current["state"] in ("submitted", "rejected", "failed",
                                                   "acknowledged") else None

        return wait_for(f"order {order_id}", terminal, timeout)

    def payment(self) -> dict[str, Any]:
        assert self.api
        api = self.api
        before = len(self.bank_orders())
        key = f"interop-{uuid.uuid4()}"
        instruction = self.payment_instruction()
        order = self.submit(instruction, key)
        self.facts.update(order=order, idempotency_key=key, instruction=instruction)
        final = self.settled(order["order_id"], self.timeout)
        self.facts["order"] = final
        document = expect(api.get(f"/ui/orders/{order['order_id']}/document.xml"), 200,
                          what="painfree's pain.001").body
        (self.out / "pain.001.xml").write_bytes(document)
        detail = {"state": final["state"], "return_code": final.get("return_code"),
                  "report_text": final.get("report_text"), "msg_id": final["msg_id"],
                  "message_type": final["message_type"],
                  "bank_order_id": final.get("bank_order_id"),
                  "attempts": final["scheme"].get("attempts")}
        if final["state"] != "submitted":
            raise StageFailed(f"painfree's order ended {final['state']} "
                              f"({final.get('return_code')}: {final.get('report_text')})",
                              **detail)
        orders = self.bank_orders()
        if len(orders) != before + 1:
            raise StageFailed(f"the bank holds {len(orders) - before} new orders, expected 1",
                              orders=orders, **detail)
        received = orders[-1]
        content = base64.b64decode(received["content_base64"])
        signature = (received.get("signatures") or [{}])[0]
        checks = {
            "bank status accepted": received["status"] == "accepted",
            "content is painfree's document": content == document,
            "A006 signature": signature.get("version") == "A006",
            "signature verified": signature.get("verified") is True,
            "signed by the subscriber": signature.get("user_id") == self.user,
        }
        detail.update(bank_order=received["order_id"], bank_status=received["status"],
                      bank_order_kind=received.get("order"), checks=checks)
        if not all(checks.values()):
            raise StageFailed("the bank's order does not match: " + ", ".join(
                name for name, ok in checks.items() if not ok), **detail)
        self.facts.update(bank_order=received, bank_orders_after_btu=len(orders))
        return detail

    def payment_replayed(self) -> dict[str, Any]:
        """The same Idempotency-Key again: painfree answers from its database, the bank
        sees nothing new."""
        assert self.api
        reply = expect(self.api.post(f"/v1/connections/{CONNECTION_ID}/payments",
                                     json_body=self.facts["instruction"],
                                     headers={"Idempotency-Key": self.facts["idempotency_key"]}),
                       202, what="resubmit payment")
        replayed = {k.lower(): v for k, v in reply.headers.items()}.get("idempotency-replayed")
        same = reply.json()["order_id"] == self.facts["order"]["order_id"]
        time.sleep(5)  # longer than the upload worker's poll interval
        count = len(self.bank_orders())
        if replayed != "true" or not same or count != self.facts["bank_orders_after_btu"]:
            raise StageFailed("a replayed submission was not idempotent",
                              replayed=replayed, same_order=same, bank_orders=count)
        return {"replayed": True, "bank_orders": count}

    def lost_answer(self) -> dict[str, Any]:
        """The bank takes the order but its answer to the last segment is lost.

        painfree cannot know whether the bank has the file, so it retries (after its 30 s
        backoff) as a new EBICS transaction carrying the same document and MsgId, relying
        on the bank to refuse the duplicate. Exactly one order must exist at the bank.
        """
        assert self.api
        installed = expect(self.admin.post("/faults", json_body={
            "name": "painfree interop: lose the answer to the BTU's last segment",
            "match": {"order_type": "BTU", "service": "SCT", "phase": "Transfer",
                      "partner_id": self.partner, "user_id": self.user},
            "action": {"kind": "drop_response"}, "times": 1}), 201,
            what="install fault").json()
        try:
            instruction = self.payment_instruction()
            instruction["transactions"][0].update(end_to_end_id="E2E-INTEROP-LOST",
                                                  amount="99.01")
            order = self.submit(instruction, f"interop-{uuid.uuid4()}")
            # First attempt, lost answer, 30 s backoff, second attempt.
            final = self.settled(order["order_id"], self.timeout + 60)
        finally:
            self.admin.call("DELETE", f"/faults/{installed['installed'][0]}")
        document = expect(self.api.get(f"/ui/orders/{order['order_id']}/document.xml"), 200,
                          what="painfree's pain.001").body
        digest = hashlib.sha256(document).hexdigest()
        copies = [o for o in self.bank_orders() if o.get("sha256") == digest]
        detail = {"painfree_state": final["state"], "return_code": final.get("return_code"),
                  "report_text": final.get("report_text"), "msg_id": final["msg_id"],
                  "bank_copies": [{"order_id": o["order_id"], "status": o["status"]}
                                  for o in copies]}
        accepted = [o for o in copies if o["status"] != "rejected"]
        if len(accepted) != 1:
            raise StageFailed(f"the bank holds {len(accepted)} live copies of the retried "
                              f"pain.001 (MsgId {final['msg_id']}), expected exactly 1",
                              **detail)
        return detail

    def status_report(self) -> dict[str, Any]:
        """pain.002 over BTD/PSR: painfree reconciles it by the pain.001's MsgId."""
        assert self.painfree and self.api
        run = self.download(STATUS_REPORT_BTF, None)
        if run["state"] != "complete":
            raise StageFailed(f"status report download {run['state']} (return code "
                              f"{run['return_code']}): {run['last_error'] or run['report_text']}",
                              run=run)
        stored = self.painfree.statements_of_run(run["run_id"])
        order_id = self.facts["order"]["order_id"]
        order = expect(self.api.get(f"/v1/orders/{order_id}"), 200, what="order").json()
        detail = {"documents": run["documents"], "reports": len(stored),
                  "matched": [r["statement_id"] for r in stored if r["order_id"] == order_id],
                  "order_state": order["state"]}
        if not detail["matched"]:
            raise StageFailed("no stored pain.002 names the order's MsgId "
                              f"{self.facts['order']['msg_id']}", **detail)
        if order["state"] != "acknowledged":
            raise StageFailed(f"the order is {order['state']} after its status report", **detail)
        return detail


def unpack(payload: bytes) -> list[bytes]:
    """The documents of a download: the members of a ZIP, or the payload itself."""
    if not payload.startswith(b"PK\x03\x04"):
        return [payload]
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return [archive.read(info) for info in archive.infolist() if not info.is_dir()]


def main() -> int:
    summary = Harness().run()
    print(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
