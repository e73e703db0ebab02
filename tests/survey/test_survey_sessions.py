"""Survey sessions: Ctrl-C keeps finished work, one process per run (lease), interrupted runs,
retrying unknown rows, export, invalid-only input, --group-by checks, --kb on Dask workers."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.survey.inputs import Target
from souverain.survey.session import Lease, LeaseHeld, shown_status
from souverain.testing.dnsserver import DNSServer


def _zone(tmp_path: Path, names: list[str], faults: dict[str, str] | None = None) -> Path:
    """bulk.test with a self-hosted MX for every name; ``faults`` as the loopback server reads them."""
    zones = tmp_path / "zones"
    zones.mkdir()
    lines = ["$ORIGIN bulk.test.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
             "ns1 IN A 51.91.0.53"]
    for n, name in enumerate(names):
        label = name.split(".")[0]
        lines += [f"{label} IN MX 10 mail.{label}", f"mail.{label} IN A 51.68.0.{n % 250 + 1}", f"{label} IN NS ns1"]
    (zones / "bulk.test.zone").write_text("\n".join(lines) + "\n")
    (zones / "faults.yaml").write_text(yaml.safe_dump(faults or {}))
    return zones


def _population(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "domains.txt"
    path.write_text("\n".join(names) + "\n")
    return path


class _Stderr:
    """A subprocess's stderr lines with the time each one arrived."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process) -> None:
        for line in process.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, seconds: float) -> float | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for arrived, line in list(self.lines):
                if text in line:
                    return arrived
            time.sleep(0.02)
        return None

    def text(self) -> str:
        self._thread.join(5)
        return "\n".join(line for _, line in self.lines)


def _survey_process(args: list[str]) -> subprocess.Popen:
    # its own process group, so that a SIGINT to the group is what Ctrl-C in a terminal sends
    return subprocess.Popen([sys.executable, "-m", "souverain", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _stored(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("select domain from survey_results")]


def _one_row_per_domain(db_path: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db_path) as conn:
        total, distinct = conn.execute("select count(*), count(distinct domain) from survey_results").fetchone()
        targets = conn.execute("select count(*) from survey_targets").fetchone()[0]
    return total, distinct, targets


def _wait_until_quiet(server: DNSServer, at_least: float, quiet: float = 0.5, at_most: float = 20) -> None:
    """Wait ``at_least`` seconds, then until the server has had no query for ``quiet`` seconds."""
    start = time.monotonic()
    time.sleep(at_least)
    last, since = server.queries, time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() - start < at_most:
        time.sleep(0.05)
        if server.queries != last:
            last, since = server.queries, time.monotonic()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.mark.parametrize("workers", ["1", "2"])  # in-process loop, and a pool of worker processes
def test_sigint_keeps_finished_results_and_prints_the_resume_command(tmp_path, workers):
    names = [f"{'slow' if n % 3 == 2 else 'fast'}{n}.bulk.test" for n in range(60)]
    fast = {d for d in names if d.startswith("fast")}
    server = DNSServer(_zone(tmp_path, names, {d: "timeout" for d in names if d not in fast})).start()
    population, db_path = _population(tmp_path, names), tmp_path / "s.db"
    process = _survey_process(["survey", "run", str(population), "--nameserver", f"127.0.0.1:{server.port}",
                               "--timeout", "5", "--db", f"sqlite:///{db_path}", "--name", "stop me",
                               "--functions", "mail", "--workers", workers, "--partition-size", "30"])  # not -q: the start line
    try:
        stderr = _Stderr(process)
        assert stderr.wait_for("survey 'stop me'", 60), stderr.text()
        # ~2 s of work: the fast domains finish, the slow ones wait for answers that never come
        # (their first retry is 5 s away, so the server falls quiet once the fast ones are done)
        _wait_until_quiet(server, at_least=2.0)
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        acknowledged = stderr.wait_for("interrupted: saving finished results", 5)
        assert acknowledged is not None and acknowledged - sent < 1.0, stderr.text()
        assert process.wait(15) == 130
        stored = set(_stored(db_path))
        assert stored <= fast and len(stored) >= 0.9 * len(fast), (len(stored), stderr.text())
        lines = stderr.text().splitlines()
        command = shlex.split(lines[lines.index(next(x for x in lines if x.endswith("resume with:"))) + 1])
        assert command == ["souverain", "survey", "run", str(population), "--name", "stop me", "--resume",
                           "--db", f"sqlite:///{db_path}"]
        server.store.faults.clear()  # the slow domains answer now
        resumed = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=120,
                                 check=False)
        assert resumed.returncode == 0, resumed.stderr
        assert _one_row_per_domain(db_path) == (len(names), len(names), len(names))
    finally:
        _stop(process)
        server.stop()


def test_two_concurrent_resumes_one_is_refused(tmp_path):
    names = [f"slow{n}.bulk.test" for n in range(8)]
    server = DNSServer(_zone(tmp_path, names, {d: "timeout" for d in names})).start()
    population, db_path = _population(tmp_path, names), tmp_path / "s.db"
    db = f"sqlite:///{db_path}"
    created = CliRunner().invoke(cli, ["survey", "run", str(population), "--nameserver", f"127.0.0.1:{server.port}",
                                       "--timeout", "5", "--db", db, "--name", "twice", "--functions", "mail",
                                       "--quiet", "--workers", "1", "-o", str(tmp_path / "x.unknown-suffix")])
    assert created.exit_code == 2 and "ending in .jsonl, .csv, .parquet" in created.output  # checked before any scan
    with Store.open(db) as store:  # a run left behind by a process that is gone
        SurveyStore(store).create("twice", str(population), _options(server.port, timeout=5), "kb",
                                  [Target(n + 1, d, {}) for n, d in enumerate(names)])
    resume = ["survey", "run", str(population), "--name", "twice", "--resume", "--db", db, "--quiet", "--workers", "1"]
    first, second = _survey_process(resume), _survey_process(resume)
    try:
        deadline = time.monotonic() + 60
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        loser, winner = (first, second) if first.poll() is not None else (second, first)
        assert loser.wait(5) == 2
        message = loser.stderr.read().strip()
        assert message.count("\n") == 0 and f"is being run by process {winner.pid} on {socket.gethostname()}" in message
        assert winner.poll() is None and _stored(db_path) == []  # the refused one scanned nothing
        listed = CliRunner().invoke(cli, ["survey", "list", "--db", db])
        assert "running" in listed.output
        os.killpg(winner.pid, signal.SIGINT)
        assert winner.wait(15) == 130
        with Store.open(db) as store:
            assert SurveyStore(store).lease(1) is None  # released on the way out
        assert "interrupted" in CliRunner().invoke(cli, ["survey", "list", "--db", db]).output
        server.store.faults.clear()
        again = CliRunner().invoke(cli, resume)
        assert again.exit_code == 0, again.output
        assert _one_row_per_domain(db_path) == (len(names), len(names), len(names))
    finally:
        _stop(first)
        _stop(second)
        server.stop()


def _options(port: int, timeout: float = 0.5) -> dict:
    from souverain.survey.runner import SurveyOptions

    return SurveyOptions(nameservers=[("127.0.0.1", port)], timeout=timeout, functions=("mail",)).as_dict()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh database: SQLite, and PostgreSQL when SOUVERAIN_TEST_POSTGRES gives a server URL to create it on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 's.db'}"
        return
    server = os.environ.get("SOUVERAIN_TEST_POSTGRES")
    if not server:
        pytest.skip("set SOUVERAIN_TEST_POSTGRES=postgresql+psycopg://user@127.0.0.1:PORT/postgres to test PostgreSQL")
    import uuid

    import sqlalchemy as sa

    name = f"souverain_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database {name} with (force)"))
        admin.dispose()


def test_a_run_whose_process_died_shows_as_interrupted_and_can_be_taken_over(db_url):
    db = db_url
    here, now = socket.gethostname(), time.time()
    leases = {
        "dead-pid": {"host": here, "pid": _dead_pid(), "expires": now + 600},
        "expired": {"host": "elsewhere.example", "pid": 1, "expires": now - 1},
        "alive-here": {"host": here, "pid": os.getpid(), "expires": now + 600},
        "alive-elsewhere": {"host": "elsewhere.example", "pid": 1, "expires": now + 600},
    }
    with Store.open(db) as store:
        surveys = SurveyStore(store)
        for name, lease in leases.items():
            surveys.create(name, "x", _options(53), "kb", [Target(1, "a.test", {})],
                           lease={"token": name, **lease})
        surveys.create("no-lease", "x", _options(53), "kb", [Target(1, "a.test", {})])
        surveys.create("done", "x", _options(53), "kb", [Target(1, "a.test", {})])
        surveys.finish(surveys.find("done")["id"], "complete")
        shown = {run["name"]: shown_status(run, surveys.lease(run["id"])) for run in surveys.runs()}
        assert shown == {"dead-pid": "interrupted", "expired": "interrupted", "alive-here": "running",
                         "alive-elsewhere": "running", "no-lease": "interrupted", "done": "complete"}
        for name in ("dead-pid", "expired", "no-lease"):
            with Lease.acquire(surveys, surveys.find(name)):
                assert surveys.lease(surveys.find(name)["id"])["pid"] == os.getpid()
        for name in ("alive-here", "alive-elsewhere"):
            with pytest.raises(LeaseHeld, match="is being run by process"):
                Lease.acquire(surveys, surveys.find(name))
        taken = Lease.acquire(surveys, surveys.find("expired"))
        assert not surveys.renew_lease(surveys.find("expired")["id"], "expired", now + 60)  # the old owner lost it
        assert surveys.renew_lease(surveys.find("expired")["id"], taken.token, now + 60)
    listed = CliRunner().invoke(cli, ["survey", "list", "--db", db])
    assert listed.exit_code == 0 and "interrupted" in listed.output and "running" in listed.output


def test_retry_unknown_rescans_only_the_unknown_rows(tmp_path):
    names = [f"d{n}.bulk.test" for n in range(6)]
    server = DNSServer(_zone(tmp_path, names, {"d1.bulk.test": "servfail", "d4.bulk.test": "servfail"})).start()
    try:
        population, db = _population(tmp_path, names), f"sqlite:///{tmp_path / 's.db'}"
        runner = CliRunner()
        base = ["survey", "run", str(population), "--db", db, "--name", "r", "--workers", "1"]  # not -q: the summary
        first = runner.invoke(cli, [*base, "--nameserver", f"127.0.0.1:{server.port}", "--timeout", "0.5",
                                    "--functions", "mail"])
        assert first.exit_code == 0, first.output
        with Store.open(db) as store:
            before = {r.domain: r for r in SurveyStore(store).results(1)}
        assert {d for d, r in before.items() if r.status == "unknown"} == {"d1.bulk.test", "d4.bulk.test"}
        server.store.faults.clear()
        retried = runner.invoke(cli, [*base, "--retry", "unknown", "-o", str(tmp_path / "out.jsonl")])
        assert retried.exit_code == 0, retried.output
        assert "2 unknown result(s) to scan again" in retried.output and "(ok 2 this session)" in retried.output
        rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert [r["domain"] for r in rows] == names and all(r["status"] == "ok" for r in rows)
        assert _one_row_per_domain(tmp_path / "s.db") == (6, 6, 6)
        assert runner.invoke(cli, ["survey", "run", str(population), "--db", db, "--name", "nosuch", "--retry",
                                   "unknown"]).exit_code == 2
    finally:
        server.stop()


def test_export_writes_any_stored_run(world_dns, tmp_path):
    population = tmp_path / "pop.csv"
    population.write_text("domain,region\nselfovh.test,11\nbroken.test,84\nm365.test,11\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    ran = runner.invoke(cli, ["survey", "run", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                              "--timeout", "0.3", "--db", db, "--name", "e", "--quiet", "--workers", "1",
                              "-o", str(tmp_path / "run.jsonl")])
    assert ran.exit_code == 0, ran.output
    exported = runner.invoke(cli, ["survey", "export", "e", "--db", db, "-o", str(tmp_path / "export.jsonl")])
    assert exported.exit_code == 0 and "wrote 3 rows" in exported.output
    assert (tmp_path / "export.jsonl").read_text() == (tmp_path / "run.jsonl").read_text()
    assert runner.invoke(cli, ["survey", "export", "1", "--db", db, "-o", str(tmp_path / "e.csv")]).exit_code == 0
    assert (tmp_path / "e.csv").read_text().splitlines()[0].endswith("attr_region")
    for args in (["-o", str(tmp_path / "e.txt")], []):
        refused = runner.invoke(cli, ["survey", "export", "e", "--db", db, *args])
        assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert runner.invoke(cli, ["survey", "export", "nosuch", "--db", db, "-o", str(tmp_path / "n.csv")]).exit_code == 2


def test_invalid_only_input_leaves_no_run(tmp_path):
    population = tmp_path / "bad.csv"
    population.write_text("domain\nnot a domain\nbad_domain!\nx..y\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(cli, ["survey", "run", str(population), "--db", db, "--name", "bad", "--quiet"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"error: {population}: no valid domain (3 bad row(s)); nothing was stored"
    with Store.open(db) as store:
        assert SurveyStore(store).runs() == []
    assert "bad" not in CliRunner().invoke(cli, ["survey", "list", "--db", db]).output


def test_report_group_by_unknown_attribute_is_a_usage_error(world_dns, tmp_path):
    population = tmp_path / "pop.csv"
    population.write_text("domain,region,insee\nselfovh.test,11,75056\nm365.test,84,69123\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    ran = runner.invoke(cli, ["survey", "run", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                              "--timeout", "0.3", "--db", db, "--name", "g", "--quiet", "--workers", "1"])
    assert ran.exit_code == 0, ran.output
    result = runner.invoke(cli, ["survey", "report", "g", "--group-by", "nosuchcol", "--db", db])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --group-by 'nosuchcol': no such attribute in survey 'g' "
                                     "(available: insee, region)")
    assert runner.invoke(cli, ["survey", "report", "g", "--group-by", "region", "--db", db]).exit_code == 0


def test_dask_workers_use_the_kb_given_with_kb(tmp_path, mini_kb_dir):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "kb.test.zone").write_text(
        "$ORIGIN kb.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\n"
        "ns1 IN A 51.91.0.53\ncloudy IN MX 10 eu.mail.protection.example-cloud.com.\ncloudy IN NS ns1\n")
    server = DNSServer(zones).start()
    population = tmp_path / "d.txt"
    population.write_text("cloudy.kb.test\n")
    try:
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            result = CliRunner().invoke(cli, [
                "--kb", str(mini_kb_dir), "survey", "run", str(population), "--nameserver",
                f"127.0.0.1:{server.port}", "--timeout", "0.5", "--db", f"sqlite:///{tmp_path / 's.db'}",
                "--functions", "mail", "--quiet", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                "-o", str(tmp_path / "out.jsonl")])
        assert result.exit_code == 0, result.output
        row = json.loads((tmp_path / "out.jsonl").read_text())
        assert row["mail_service"] == "EU Sub Mail" and row["foreign_laws"] == "us-law"  # only the mini KB knows it
    finally:
        server.stop()


def test_dask_stop_keeps_finished_partitions_and_resume_completes(world_dns, tmp_path):
    pytest.importorskip("dask.distributed")
    import datetime as dt

    from dask.distributed import Client, LocalCluster

    from souverain.kb.base import load_kb
    from souverain.survey.dask_backend import run_dask
    from souverain.survey.runner import SurveyOptions
    from tests.survey.test_survey_runs import WORLD_DOMAINS

    kb = load_kb()
    options = SurveyOptions(nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, retries=1,
                            at=dt.date(2026, 11, 28))
    with Store.open(f"sqlite:///{tmp_path / 'd.db'}") as store, \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                         dashboard_address=None) as cluster, \
            Client(cluster) as client:
        surveys = SurveyStore(store)
        survey_id = surveys.create("d", "x", options.as_dict(), kb.version,
                                   [Target(i + 1, d, {}) for i, d in enumerate(WORLD_DOMAINS)])
        seen: list[dict] = []
        run_dask(surveys, survey_id, options, client, partition_size=2, progress=seen.append,
                 stop=lambda: bool(seen), kb_version=kb.version)  # stop once the first partition is in
        stopped_at = surveys.counts(survey_id)["done"]
        assert stopped_at == len(seen) and 0 < stopped_at < len(WORLD_DOMAINS)
        run_dask(surveys, survey_id, options, client, partition_size=2, kb_version=kb.version)
        assert surveys.counts(survey_id)["done"] == len(WORLD_DOMAINS)
        assert sorted(r.domain for r in surveys.results(survey_id)) == sorted(WORLD_DOMAINS)
