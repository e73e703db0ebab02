"""Survey runs: CLI end to end, crash and resume, Dask executor equals the local one."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.model.survey import SurveyRow
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.survey.inputs import Target
from souverain.survey.runner import SurveyOptions, run_local
from souverain.testing.dnsserver import DNSServer

WORLD_DOMAINS = ["m365pp.test", "gworkspace.test", "selfovh.test", "selfaws.test", "ovhmail.test", "broken.test",
                 "nullmx.test", "m365.test", "infomaniak.test", "proton.test"]


def _bulk_zone(tmp_path: Path, count: int) -> Path:
    zones = tmp_path / "zones"
    zones.mkdir()
    lines = ["$ORIGIN bulk.test.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
             "ns1 IN A 51.91.0.53"]
    for n in range(count):
        lines += [f"d{n} IN MX 10 mail.d{n}", f"mail.d{n} IN A 51.68.{n // 250}.{n % 250 + 1}",
                  f'd{n} IN TXT "v=spf1 mx -all"', f"d{n} IN NS ns1"]
    (zones / "bulk.test.zone").write_text("\n".join(lines) + "\n")
    (zones / "faults.yaml").write_text("bulk.test: slow:0.01\n")
    return zones


def test_cli_run_report_diff(world_dns, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    population = tmp_path / "pop.csv"
    population.write_text("domain,region\n" + "\n".join(f"{d},{'84' if i % 2 else '11'}"
                                                        for i, d in enumerate(WORLD_DOMAINS)) + "\nbad domain,11\n")
    runner = CliRunner()
    base = ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
            "--db", db, "--quiet"]
    first = runner.invoke(cli, [*base, "--name", "first", "-o", str(tmp_path / "out.jsonl")])
    assert first.exit_code == 0, first.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["domain"] for r in rows] == WORLD_DOMAINS
    by_domain = {r["domain"]: r for r in rows}
    assert by_domain["selfaws.test"]["mail_foreign"] is True and by_domain["selfovh.test"]["mail_foreign"] is False
    assert by_domain["broken.test"]["status"] == "unknown" and by_domain["broken.test"]["reason"]
    assert by_domain["m365pp.test"]["attr_region"] == "11"
    assert runner.invoke(cli, [*base, "--name", "second", "-o", str(tmp_path / "out.csv")]).exit_code == 0
    assert (tmp_path / "out.csv").read_text().count("\n") == len(WORLD_DOMAINS) + 1
    assert "mail_tier" in (tmp_path / "out.csv").read_text().splitlines()[0]
    report = runner.invoke(cli, ["survey", "report", "first", "--group-by", "region", "--db", db, "--format", "json"])
    data = json.loads(report.output)
    assert data["aggregate"]["domains"] == len(WORLD_DOMAINS) and len(data["aggregate"]["groups"]) == 2
    reports = data["aggregate"]["functions"]["report"]  # DMARC/TLS-RPT processors, from the stored dependencies
    assert reports["function"] == "email.reporting" and reports["foreign"] == 2  # m365.test, gworkspace.test
    assert reports["unknown"] == 2 and reports["none"] == len(WORLD_DOMAINS) - 4  # proton.test's collector, broken.test
    assert any("Valimail" in name for name, _ in reports["providers"])  # KB names, not ids
    mail = data["aggregate"]["functions"]["mail"]  # m365pp.test: mailboxes inferred behind a gateway
    assert mail["tiers"]["inferred"] >= 1 and sum(mail["tiers"].values()) == len(WORLD_DOMAINS)
    assert by_domain["m365pp.test"]["mail_tier"] == "inferred" and by_domain["selfovh.test"]["mail_tier"] == "verified"
    strict = runner.invoke(cli, ["survey", "report", "first", "--db", db, "--format", "json",
                                 "--min-confidence", "verified"])
    strict_mail = json.loads(strict.output)["aggregate"]["functions"]["mail"]
    assert strict_mail["unknown"] == mail["unknown"] + mail["tiers"]["inferred"] + mail["tiers"]["registered"]
    assert "Counted: answers of tier verified" in runner.invoke(
        cli, ["survey", "report", "first", "--db", db, "--min-confidence", "verified"]).output
    html = runner.invoke(cli, ["survey", "report", "first", "--group-by", "region", "--db", db, "-o",
                               str(tmp_path / "r.html")])
    assert html.exit_code == 0 and "<svg" in (tmp_path / "r.html").read_text()
    diff = runner.invoke(cli, ["survey", "diff", "first", "second", "--db", db, "--format", "json"])
    assert json.loads(diff.output)["moves"] == []
    again = runner.invoke(cli, [*base, "--name", "first"])
    assert again.exit_code == 2 and "exists already" in again.output


@pytest.mark.parametrize("workers", ["1", "2"])  # in-process loop, and a pool of worker processes
def test_sigkill_then_resume_gives_exactly_one_result_per_domain(tmp_path, workers):
    count = 300
    server = DNSServer(_bulk_zone(tmp_path, count)).start()
    try:
        population = tmp_path / "domains.txt"
        population.write_text("\n".join(f"d{n}.bulk.test" for n in range(count)) + "\n")
        db_path = tmp_path / "s.db"
        args = [sys.executable, "-m", "souverain", "survey", str(population), "--nameserver",
                f"127.0.0.1:{server.port}", "--timeout", "1", "--db", f"sqlite:///{db_path}", "--name", "crash",
                "--batch-size", "5", "--partition-size", "5", "--concurrency", "8", "--functions", "mail", "--quiet",
                "--workers", workers]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        done = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and done < 20:
            time.sleep(0.2)
            if db_path.exists():
                try:
                    with sqlite3.connect(db_path) as conn:
                        done = conn.execute("select count(*) from survey_results").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert _wait_until(lambda: not _processes_using(db_path)), "worker processes outlived their parent"
        with sqlite3.connect(db_path) as conn:
            partial = conn.execute("select count(*) from survey_results").fetchone()[0]
        assert 0 < partial < count, partial
        listed = CliRunner().invoke(cli, ["survey", "list", "--db", f"sqlite:///{db_path}"])
        assert "interrupted" in listed.output and "running" not in listed.output  # its process is gone
        resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=180, check=False)
        assert resumed.returncode == 0, resumed.stderr
        with sqlite3.connect(db_path) as conn:
            total, distinct = conn.execute("select count(*), count(distinct domain) from survey_results").fetchone()
            targets = conn.execute("select count(*) from survey_targets").fetchone()[0]
        assert total == distinct == targets == count
    finally:
        server.stop()


def _processes_using(path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(path).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _rows_without_time(store: SurveyStore, survey_id: int) -> list[SurveyRow]:
    return [dataclasses.replace(row, finished="") for row in store.results(survey_id)]


def test_dask_local_cluster_equals_local_executor(world_dns, ip_table, tmp_path):
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    from souverain.survey.dask_backend import run_dask

    kb = load_kb()
    options = SurveyOptions(nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, retries=1,
                            at=dt.date(2026, 11, 28), batch=3)
    targets = [Target(i + 1, d, {"n": str(i)}) for i, d in enumerate(WORLD_DOMAINS)]
    with Store.open(f"sqlite:///{tmp_path / 'd.db'}") as store:
        surveys = SurveyStore(store)
        local_id = surveys.create("local", "x", options.as_dict(), kb.version, targets, 0)
        asyncio.run(run_local(kb, ip_table, surveys, local_id, options))
        dask_id = surveys.create("dask", "x", options.as_dict(), kb.version, targets, 0)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            run_dask(surveys, dask_id, options, client, partition_size=3)
        local_rows = _rows_without_time(surveys, local_id)
        dask_rows = _rows_without_time(surveys, dask_id)
        assert len(dask_rows) == len(WORLD_DOMAINS)
        assert dask_rows == local_rows
        # writing a partition twice (a retried task) changes nothing
        assert surveys.write(dask_id, [dataclasses.replace(r, finished="x") for r in dask_rows[:2]]) == 0
