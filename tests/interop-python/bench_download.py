"""Time painfree downloading one statement: the peer row of `kontor-bench`.

Walks painfree through the key ceremony exactly as run.py does (START ... BANK_KEYS), then
registers a download schedule for the statement kontor-bench downloads itself (BTD EOP
camt.053 without container and without a date range: the bank's latest business day) and
runs it once. Measured:

- wall: the run as painfree records it, from the worker's claim to its end (EBICS
  initialisation, every segment, decryption and inflation, storing the statements, receipt);
- CPU: user + system time of painfree's worker process (all threads) over the same span,
  from /proc/<pid>/stat, sampled when the run appears and when it ends;
- peak RSS of the worker process (VmHWM).

The API process only answers this script's polls and is not counted. One JSON document on
stdout; exit code 0 when the download completed. Environment as run.py (BANK_URL, HOST_ID,
PARTNER_ID, USER_ID, ...), plus BENCH_TIMEOUT_SECONDS (default 1800) for the download.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import time
from typing import Any

from run import CONNECTION_ID, Harness, StageFailed, expect

#: The statement kontor-bench downloads: the same document, byte for byte.
STATEMENT_BTF = {"service_name": "EOP", "msg_name": "camt.053", "msg_version": "08",
                 "scope": "DE"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: How often the run's state is looked up (its row in painfree's SQLite database).
POLL_SECONDS = 0.05


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # Fields after the command name (which may hold spaces) start after the last ')';
        # utime and stime are fields 14 and 15 of proc(5).
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mib(pid: int) -> float | None:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


class DownloadBench(Harness):
    def run(self) -> dict[str, Any]:
        try:
            self.ceremony()
            self.stage("DOWNLOAD", ("BANK_KEYS",), self.timed_download)
        finally:
            if self.painfree:
                self.painfree.stop()
        failed = [s for s in self.stages if s.status != "passed"]
        return {
            "ok": not failed,
            "painfree_version": self.facts.get("painfree_version"),
            "measure": self.facts.get("measure"),
            "failed": [{"stage": s.name, "error": s.error} for s in failed],
            "out_dir": str(self.out),
        }

    def timed_download(self) -> dict[str, Any]:
        assert self.api and self.painfree
        worker = next(p for name, p, _ in self.painfree.processes if name == "worker")
        body = {"connection_id": CONNECTION_ID, "cadence_seconds": 86400, **STATEMENT_BTF}
        schedule = expect(self.api.post("/v1/schedules", json_body=body), 201,
                          what="register schedule").json()["schedule_id"]
        expect(self.api.post(f"/v1/schedules/{schedule}/run"), 202, what="run schedule")
        # The worker claims the run on its next poll (every 15 s when idle): the CPU time
        # counts from the moment the run exists, not from the request.
        timeout = float(os.environ.get("BENCH_TIMEOUT_SECONDS", "1800"))
        deadline = time.monotonic() + timeout
        cpu_start = None
        database = sqlite3.connect(f"file:{self.painfree.database}?mode=ro", uri=True)
        try:
            while True:
                row = database.execute("SELECT state FROM download_run WHERE schedule_id = ?",
                                       (schedule,)).fetchone()
                if row and cpu_start is None:
                    cpu_start = cpu_seconds(worker.pid)
                if row and row[0] != "running":
                    break
                if time.monotonic() > deadline:
                    raise StageFailed(f"the download did not end within {timeout:.0f} s")
                time.sleep(POLL_SECONDS)
        finally:
            database.close()
        cpu = cpu_seconds(worker.pid) - cpu_start
        run = expect(self.api.get(f"/v1/schedules/{schedule}/runs"), 200,
                     what="schedule runs").json()["runs"][0]
        if run["state"] != "complete":
            raise StageFailed(f"download run {run['state']} (return code "
                              f"{run['return_code']}): {run['last_error'] or run['report_text']}",
                              run=run)
        wall = (dt.datetime.fromisoformat(run["finished_at"])
                - dt.datetime.fromisoformat(run["started_at"])).total_seconds()
        measure = {"wall_seconds": wall, "cpu_seconds": cpu,
                   "peak_rss_mib": peak_rss_mib(worker.pid), "bytes": run["bytes"],
                   "segments": run["segments"], "statements": run["statements"]}
        self.facts["measure"] = measure
        return measure


def main() -> int:
    summary = DownloadBench().run()
    print(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
