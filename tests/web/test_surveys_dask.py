"""Surveys from the server on a Dask cluster: `souverain serve --executor dask --scheduler ADDRESS`
reaches the survey runner as `souverain survey --executor dask` does."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.web.jobs import Jobs, ScanSettings, SurveySettings
from souverain.web.survey_jobs import register, run_survey_job


def test_serve_passes_the_survey_options_to_the_application(tmp_path, monkeypatch):
    uvicorn = pytest.importorskip("uvicorn")
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.update(app=app, **kwargs))
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        result = CliRunner().invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--data-dir",
                                          str(tmp_path / "data"), "--executor", "dask", "--scheduler", address,
                                          "--survey-workers", "2", "--max-upload", "5"])
    finally:
        listener.close()
    assert result.exit_code == 0, result.output
    settings = started["app"].state.ctx.jobs.survey_settings
    assert (settings.executor, settings.scheduler, settings.workers) == ("dask", address, 2)
    assert settings.data_dir == tmp_path / "data" and settings.max_upload == 5 * 1024 * 1024


def test_serve_dask_without_scheduler_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--executor", "dask"])
    assert result.exit_code == 2 and result.output.strip() == "error: --executor dask needs --scheduler ADDRESS"


def test_a_survey_job_runs_on_a_local_dask_cluster(tmp_path, world_dns):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    domains = ["m365.test", "ovhmail.test", "gworkspace.test"]
    path = tmp_path / "data" / "in.txt"
    path.parent.mkdir()
    path.write_text("\n".join(domains) + "\n")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        pool = Jobs(Store.open(f"sqlite:///{tmp_path / 'w.db'}"),
                    ScanSettings(nameservers=[("127.0.0.1", world_dns.port)], timeout=1, allow_private_targets=True),
                    surveys=SurveySettings(data_dir=tmp_path / "data", executor="dask",
                                           scheduler=cluster.scheduler_address, partition_size=2))
        registered = register(pool, path, fmt=None, domain_column=None, name="dask", functions=("mail",))
        run_survey_job(pool, registered.job_id)
        ran_on_dask = "scan_partition" in cluster.scheduler.task_prefixes  # the runner's task, by its name
    job = pool.get(registered.job_id)
    assert job["status"] == "done", job
    rows = {r.domain: r for r in SurveyStore(pool.store).results(registered.survey_id)}
    assert sorted(rows) == sorted(domains) and rows["m365.test"].mail_country == "US"
    assert ran_on_dask
