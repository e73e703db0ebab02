"""Politeness towards RDAP servers: requests spaced per server (``--rdap-qps``), HTTP 429/503 with
Retry-After honoured and retried a bounded number of times, then recorded as ``rate-limited``
evidence; the slowed-down server stays slow; ``--rdap-qps`` is stored with a survey and kept on
``--resume``. Timing is asserted on the server's arrival times, never on the client's speed."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect import rdap_pace
from souverain.collect.rdap import check_registrar, parse_retry_after
from souverain.collect.rdap_pace import ServerPacer, pacer_for
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.scan import ScanOptions, scan_domains
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.survey import session
from souverain.survey.runner import SurveyOptions
from souverain.testing import httpserver
from souverain.testing.httpserver import WebServer

SITES = Path(__file__).parent.parent / "data" / "rdap"
# seconds: an arrival the server notes late (a loaded machine) shortens the next gap it sees; each
# bound asserted, less this, is still well above what the same requests unpaced would show
TOLERANCE = 0.1


class ScriptedRDAP(WebServer):
    """The loopback RDAP server of these tests (``WebServer`` on tests/data/rdap), noting when each
    request arrived; ``first``: path -> answers (status, headers) given in turn before the file;
    ``always``: path -> the answer given every time."""

    Answer = tuple[int, dict[str, str]]

    def __init__(self, first: dict[str, list[Answer]] | None = None, always: dict[str, Answer] | None = None) -> None:
        super().__init__(SITES)
        self.first = {path: list(answers) for path, answers in (first or {}).items()}
        self.always = dict(always or {})
        self.arrivals: list[tuple[float, str]] = []

    async def _respond(self, writer, method: str, host: str, target: str) -> None:
        self.arrivals.append((time.monotonic(), target))
        queued = self.first.get(target)
        answer = queued.pop(0) if queued else self.always.get(target)
        if answer is None:
            await super()._respond(writer, method, host, target)
            return
        status, headers = answer
        await httpserver._send(writer, status, {"Content-Type": "application/json", **headers}, b"{}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/rdap"

    def times(self, path: str | None = None) -> list[float]:
        return [moment for moment, target in self.arrivals if path is None or target == path]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def scan(server: ScriptedRDAP, *domains: str, qps: float = 50.0):
    options = ScanOptions(functions=("registrar",), nameservers=[("127.0.0.1", 9)], timeout=0.2,
                          at=dt.date(2026, 12, 7), rdap_url=server.base, rdap_timeout=5.0, rdap_qps=qps)
    result = asyncio.run(scan_domains(load_kb(), list(domains), options, IPASNTable.load()))
    return ({dep.domain: dep for dep in result.dependencies},
            {domain: items[0] for domain, items in result.evidence.items()}, result)


# -- Retry-After (RFC 9110 §10.2.3) -------------------------------------------------------------

def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 12, 7, 22, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Mon, 07 Dec 2026 22:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 07 Dec 2026 21:59:00 GMT", now) == 0.0  # a date gone by: no wait
    for unreadable in (None, "", "soon", "-5", "1.5", "١٢"):
        assert parse_retry_after(unreadable, now) is None, unreadable


# -- the pacer, on a clock of its own -----------------------------------------------------------

def test_the_pacer_spaces_each_server_on_its_own_and_slows_one_that_refused():
    clock = [100.0]
    pacer = ServerPacer(2.0, clock=lambda: clock[0])
    assert [pacer.reserve("https://a/")[1] for _ in range(3)] == [0.0, 0.5, 1.0]
    assert pacer.reserve("https://b/") == (None, 0.0)  # another server is not held up by the first
    pacer.back_off("https://b/", 10.0)
    assert pacer.gap("https://b/") == 1.0 and pacer.gap("https://a/") == 0.5
    assert pacer.reserve("https://b/") == (None, 10.0)  # nothing before the pause it asked for
    assert pacer.reserve("https://b/") == (None, 11.0)  # then at its halved rate
    pacer.back_off("https://b/", 3600.0)  # longer than a look-up waits: no slot, the pause is said
    too_long, delay = pacer.reserve("https://b/")
    assert too_long == 3600.0 and delay == 0.0
    for _ in range(10):
        pacer.back_off("https://a/", None)
    assert pacer.gap("https://a/") == rdap_pace.SLOWEST  # slowed down, but not to a halt
    assert ServerPacer(0.01).gap("x") == 100.0  # a rate slower than SLOWEST is kept as asked
    with pytest.raises(ValueError):
        ServerPacer(0)


def test_one_pacer_per_rate_for_the_whole_process():
    assert pacer_for(None) is pacer_for(rdap_pace.DEFAULT_QPS)
    assert pacer_for(3.0) is pacer_for(3) is not pacer_for(4.0)


# -- against the loopback server ----------------------------------------------------------------

def test_requests_to_one_server_are_spaced_by_the_rate():
    domains = ["ok.test", "elsewhere.test", "badjson.test", "noregistrar.test", "missing.test"]
    with ScriptedRDAP() as server:
        deps, _, _ = scan(server, *domains, qps=2.0)
    times = sorted(server.times())
    assert len(times) == len(domains)
    assert min(gaps(times)) >= 0.5 - TOLERANCE, gaps(times)
    assert deps["ok.test"].status == "identified"


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_answer_with_retry_after_is_waited_out_then_retried(status):
    path = "/rdap/domain/ok.test"
    with ScriptedRDAP(first={path: [(status, {"Retry-After": "1"})]}) as server:
        deps, evidence, _ = scan(server, "ok.test")
    times = server.times(path)
    assert len(times) == 2
    assert times[1] - times[0] >= 1.0 - TOLERANCE
    dep, item = deps["ok.test"], evidence["ok.test"]
    assert (dep.status, dep.tier, dep.operator and dep.operator.id) == ("identified", "verified", "gandi")
    assert (item.status, item.detail["tries"]) == ("ok", 2)


def test_a_server_that_always_refuses_gives_rate_limited_evidence_after_bounded_tries():
    path = "/rdap/domain/ok.test"
    with ScriptedRDAP(always={path: (429, {"Retry-After": "0"})}) as server:
        deps, evidence, result = scan(server, "ok.test", qps=40.0)
    assert len(server.times(path)) == 1 + rdap_pace.RETRIES
    dep, item = deps["ok.test"], evidence["ok.test"]
    assert (dep.status, dep.reason) == ("unknown", "registrar-lookup-failed")
    assert item.status == "rate-limited"
    assert item.detail["error"] == f"rate-limited: HTTP 429 after {1 + rdap_pace.RETRIES} tries"
    assert (item.detail["http_status"], item.detail["tries"]) == (429, 1 + rdap_pace.RETRIES)
    assert item.recheck() and "ok.test" in item.recheck()
    # slowed down for the rest of the run: each refusal halved the server's rate
    assert pacer_for(40.0).gap(server.base) == pytest.approx(min(2 ** (1 + rdap_pace.RETRIES) / 40.0, rdap_pace.SLOWEST))
    assert json.loads(json.dumps(result.as_dict(), default=str))  # the result still serialises


def test_the_slowed_down_server_stays_slow_for_the_next_domains():
    path = "/rdap/domain/ok.test"
    pacer = ServerPacer(10.0)  # 0.1 s apart; after three refusals 0.8 s

    async def lookups(base: str):
        first = await check_registrar("ok.test", override=base, pacer=pacer)
        second = await check_registrar("elsewhere.test", override=base, pacer=pacer)
        return first, second

    with ScriptedRDAP(always={path: (429, {"Retry-After": "0"})}) as server:
        first, second = asyncio.run(lookups(server.base))
    assert first.rate_limited and first.error and first.error.startswith("rate-limited")
    assert second.name == "Example <b>Registrar</b>, Inc." and second.tries == 1
    refused, after = server.times(path), server.times("/rdap/domain/elsewhere.test")
    assert len(refused) == 3 and len(after) == 1
    # each refusal doubled the spacing from then on: 0.2 s, 0.4 s, then 0.8 s before the next domain
    assert all(gap >= expected - TOLERANCE for gap, expected in zip(gaps(refused), (0.2, 0.4), strict=True)), \
        gaps(refused)
    assert after[0] - refused[-1] >= 0.8 - TOLERANCE


def test_a_pause_longer_than_a_look_up_waits_is_honoured_without_requests():
    path = "/rdap/domain/ok.test"
    with ScriptedRDAP(always={path: (429, {"Retry-After": "3600"})}) as server:
        deps, evidence, _ = scan(server, "ok.test", "elsewhere.test", qps=25.0)
    # one request found the server asking for an hour's pause; the other domain's look-up sent nothing
    assert len(server.arrivals) == 1
    statuses = sorted(item.status for item in evidence.values())
    assert statuses == ["rate-limited", "rate-limited"]
    errors = {item.detail["error"] for item in evidence.values()}
    assert all(error.startswith("rate-limited: the server asked for a pause of 3") for error in errors), errors
    assert sorted(item.detail.get("http_status", 0) for item in evidence.values()) == [0, 429]  # only one was asked
    assert all(dep.status == "unknown" for dep in deps.values())


def test_rdap_qps_on_the_command_line():
    with ScriptedRDAP() as server:
        args = ["scan", "ok.test", "elsewhere.test", "--functions", "registrar", "--rdap-url", server.base,
                "--rdap-qps", "0.5", "--nameserver", "127.0.0.1:9", "--timeout", "0.2", "--no-store", "--quiet",
                "--format", "json"]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert min(gaps(sorted(server.times()))) >= 2.0 - TOLERANCE  # slower than the default, as asked
    for bad in ("0", "-1", "fast"):
        refused = CliRunner().invoke(cli, ["scan", "ok.test", "--functions", "registrar", "--rdap-qps", bad])
        assert refused.exit_code == 2 and "--rdap-qps" in refused.output, bad


def test_survey_stores_rdap_qps_and_resume_keeps_it(tmp_path):
    population = tmp_path / "domains.txt"
    population.write_text("ok.test\nelsewhere.test\nnoregistrar.test\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    with ScriptedRDAP() as server:
        options = SurveyOptions(functions=("registrar",), nameservers=[("127.0.0.1", 9)], timeout=0.2,
                                rdap_url=server.base, rdap_qps=2.0)
        with Store.open(db) as store:  # a run registered, then stopped before any domain was scanned
            surveys = SurveyStore(store)
            run, lease, _ = session.create_run(surveys, population, None, None, "paced", options, load_kb().version,
                                               session.BadRows(population, lambda _line: None))
            with lease:
                surveys.finish(run["id"], "interrupted")
        result = CliRunner().invoke(cli, ["survey", "run", str(population), "--name", "paced", "--resume",
                                          "--rdap-qps", "50", "--db", db, "--workers", "1", "--quiet"])
        assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        stored = json.loads(SurveyStore(store).find("paced")["options"])
    assert stored["rdap_qps"] == 2.0
    assert SurveyOptions.from_dict(stored).rdap_qps == 2.0
    times = sorted(server.times())
    assert len(times) == 3
    assert min(gaps(times)) >= 0.5 - TOLERANCE, gaps(times)  # the stored rate, not the 50 given again


def test_survey_run_stores_the_rdap_qps_it_was_given(tmp_path):
    population = tmp_path / "domains.txt"
    population.write_text("ok.test\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    with ScriptedRDAP() as server:
        result = CliRunner().invoke(cli, ["survey", "run", str(population), "--name", "given", "--functions", "registrar",
                                          "--rdap-url", server.base, "--rdap-qps", "2.5", "--nameserver", "127.0.0.1:9",
                                          "--timeout", "0.2", "--db", db, "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        assert json.loads(SurveyStore(store).find("given")["options"])["rdap_qps"] == 2.5


def test_an_old_run_without_rdap_qps_resumes_at_the_default():
    stored = SurveyOptions(functions=("registrar",)).as_dict()
    del stored["rdap_qps"]
    assert SurveyOptions.from_dict(stored).rdap_qps == rdap_pace.DEFAULT_QPS


def test_worker_processes_each_get_their_share_of_the_rate(tmp_path, monkeypatch):
    """``--workers N``: N processes each pace their own requests, so each gets rdap_qps / N."""
    from collections import Counter
    from concurrent.futures import Future

    from souverain.survey import runner

    given: list[float] = []

    class Pool:  # stands for the process pool: notes the options each partition is sent with
        def __init__(self, workers, initializer=None, initargs=()) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

        def submit(self, function, part, options, *rest) -> Future:
            given.append(options["rdap_qps"])
            future: Future = Future()
            future.set_result(runner.partition_result([], Counter(), "-"))
            return future

    monkeypatch.setattr(runner, "ProcessPoolExecutor", Pool)
    population = tmp_path / "domains.txt"
    population.write_text("a.test\nb.test\nc.test\nd.test\n", encoding="utf-8")
    options = SurveyOptions(functions=("registrar",), rdap_qps=3.0)
    with Store.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        surveys = SurveyStore(store)
        run, lease, _ = session.create_run(surveys, population, None, None, "shared", options, "-",
                                           session.BadRows(population, lambda _line: None))
        with lease:
            runner.run_processes(surveys, run["id"], options, workers=3, partition_size=2)
    assert given == [1.0, 1.0]
