"""``souverain serve``: the web application and HTTP API on uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from souverain.cli.options import (
    check_scheduler,
    db_option,
    dns_timeout_option,
    handle_errors,
    lang_option,
    nameserver_option,
)
from souverain.errors import UsageError


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any address but loopback requires --token-file or --users.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@db_option
@nameserver_option
@dns_timeout_option(3.0)
@lang_option
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="FILE",
              help="Require this token (first line of FILE, 16 characters or more): API by "
                   "'Authorization: Bearer', pages by a sign-in form.")
@click.option("--users", "users_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="FILE",
              help="Users who sign in to the pages with a name and password (a file written by "
                   "`souverain users add`: salted scrypt hashes). The API still asks for the --token-file token.")
@click.option("--secure-cookies", is_flag=True,
              help="Mark the session cookie Secure even over http (when a TLS proxy serves the server over https).")
@click.option("--allow-private-targets", is_flag=True,
              help="Scan targets that resolve to loopback, private, link-local, CGNAT, multicast or reserved "
                   "addresses (refused by default: the server must not be a way into its own network).")
@click.option("--workers", type=click.IntRange(1, 32), default=2, show_default=True,
              help="Scans run at the same time (more wait in the queue).")
@click.option("--no-web-fetch", is_flag=True, help="Scans do not fetch home pages (DNS only).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default="souverain-data",
              show_default=True, help="Folder for uploaded survey inputs (written under DIR/uploads only).")
@click.option("--max-upload", type=click.IntRange(1, 2048), default=20, show_default=True, metavar="MB",
              help="Largest survey upload, in megabytes.")
@click.option("--survey-workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Surveys run at the same time (more wait in the queue).")
@click.option("--survey-concurrency", type=click.IntRange(1, 5000), default=100, show_default=True,
              help="DNS queries in flight per survey.")
@click.option("--executor", type=click.Choice(("local", "dask")), default="local", show_default=True,
              help="Where surveys run: in the server, or on a Dask cluster (as `souverain survey --executor`).")
@click.option("--scheduler", metavar="ADDRESS", callback=check_scheduler,
              help="Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786.")
@handle_errors
def serve_command(host, port, db_url, nameservers, timeout, lang, token_file, users_file, secure_cookies,
                  allow_private_targets, workers, no_web_fetch, data_dir, max_upload, survey_workers,
                  survey_concurrency, executor, scheduler) -> None:
    """Serve the web application and the HTTP API (/api/v1, OpenAPI at /api/v1/openapi.json)."""
    try:
        import uvicorn

        from souverain.web.app import Settings, create_app
        from souverain.web.jobs import ScanSettings, SurveySettings
    except ImportError as exc:
        raise UsageError(f"souverain serve needs the web extra: pip install 'souverain[web]' ({exc.name} missing)") \
            from None
    from souverain.collect.dns import parse_nameserver
    from souverain.web.security import read_token
    from souverain.web.users import read_users

    if executor == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS")
    token = read_token(token_file) if token_file else None
    users = read_users(users_file) if users_file else None
    if token is None and not users and not loopback(host):
        raise UsageError(f"--host {host} is not a loopback address: give --token-file FILE or --users FILE so "
                         "that the server asks for authentication")
    settings = Settings(
        db_url=db_url, lang=lang, token=token, users=users, secure_cookies=secure_cookies, workers=workers,
        scan=ScanSettings(nameservers=[parse_nameserver(ns) for ns in nameservers] or None, timeout=timeout,
                          fetch_web=not no_web_fetch, allow_private_targets=allow_private_targets),
        survey=SurveySettings(data_dir=data_dir, workers=survey_workers, concurrency=survey_concurrency,
                              executor=executor, scheduler=scheduler, max_upload=max_upload * 1024 * 1024),
    )
    app = create_app(settings)
    click.echo(f"souverain serving on http://{host}:{port}/ (API /api/v1)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)


@click.group("users")
def users_command() -> None:
    """Manage the users file of `souverain serve --users FILE` (salted scrypt password hashes)."""


users_file_option = click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path),
                                  required=True, metavar="FILE", help="The users file (created if missing, mode 600).")


@users_command.command("add")
@click.argument("name")
@users_file_option
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@handle_errors
def users_add(name, users_file, password_stdin) -> None:
    """Add user NAME, or set a new password for NAME (asked twice, not echoed; 12 characters or more)."""
    from souverain.web.users import check_name, check_password, write_user

    check_name(name)
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    existed = write_user(users_file, name, check_password(password))
    click.echo(f"{'updated' if existed else 'added'} user {name} in {users_file}", err=True)


@users_command.command("remove")
@click.argument("name")
@users_file_option
@handle_errors
def users_remove(name, users_file) -> None:
    """Remove user NAME from the users file."""
    from souverain.web.users import write_user

    if not users_file.exists() or not write_user(users_file, name, None):
        raise UsageError(f"no user {name!r} in {users_file}")
    click.echo(f"removed user {name} from {users_file}", err=True)
