"""Users with hashed passwords: the users file, `souverain users`, `serve --users`, sign-in and
sign-out by name and password, the API still by bearer token."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.errors import UsageError
from souverain.web.users import hash_password, read_users, verify, write_user
from tests.web.conftest import csrf_of, make_client

PASSWORD = "correct horse battery staple"
TOKEN = "s3cret-token-for-the-tests"


def test_hashes_are_salted_scrypt_and_verified():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a fresh salt each time
    assert PASSWORD not in first
    assert verify(PASSWORD, first) and verify(PASSWORD, second)
    assert not verify(PASSWORD + "!", first)
    assert not verify(PASSWORD, None)  # an unknown user: same work, never true
    assert not verify(PASSWORD, "scrypt$16384$8$1$zz$00")  # a damaged line is no match
    assert not verify("x" * 2000, first)  # a password too long to be worth hashing


def test_users_file_written_by_the_command(tmp_path):
    users = tmp_path / "users"
    result = CliRunner().invoke(cli, ["users", "add", "alice", "--users", str(users), "--password-stdin"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    stored = read_users(users)
    assert list(stored) == ["alice"] and verify(PASSWORD, stored["alice"])
    assert PASSWORD not in users.read_text()
    result = CliRunner().invoke(cli, ["users", "add", "alice", "--users", str(users)],
                                input="another long password\nanother long password\n")  # prompted twice
    assert result.exit_code == 0 and "updated user alice" in result.output
    assert verify("another long password", read_users(users)["alice"])
    short = CliRunner().invoke(cli, ["users", "add", "bob", "--users", str(users), "--password-stdin"], input="short\n")
    assert short.exit_code == 2
    assert short.output.strip() == "error: the password must have 12 to 1024 characters"
    bad_name = CliRunner().invoke(cli, ["users", "add", "bob smith", "--users", str(users), "--password-stdin"],
                                  input=PASSWORD + "\n")
    assert bad_name.exit_code == 2 and "user name 'bob smith'" in bad_name.output
    assert CliRunner().invoke(cli, ["users", "remove", "alice", "--users", str(users)]).exit_code == 0
    missing = CliRunner().invoke(cli, ["users", "remove", "alice", "--users", str(users)])
    assert missing.exit_code == 2 and missing.output.strip() == f"error: no user 'alice' in {users}"


def test_a_damaged_users_file_is_refused_with_its_line(tmp_path):
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    users.write_text(users.read_text() + "bob:plaintext-password\n")
    with pytest.raises(UsageError, match=r"users:2: expected NAME:scrypt"):
        read_users(users)
    users.write_text("# nobody yet\n")
    with pytest.raises(UsageError, match="holds no user"):
        read_users(users)


def test_serve_with_users_starts_on_a_public_address(tmp_path, monkeypatch):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.update(app=app, **kwargs))
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--users", str(users), "--secure-cookies",
                                      "--db", f"sqlite:///{tmp_path / 'w.db'}"])
    assert result.exit_code == 0, result.output
    settings = started["app"].state.ctx.settings
    assert list(settings.users) == ["alice"] and settings.token is None and settings.secure_cookies


@pytest.fixture
def with_users(tmp_path, world_dns):
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    with make_client(tmp_path, world_dns, users=read_users(users)) as client:
        yield client


def _sign_in(client, name: str, password: str):
    return client.post("/login", data={"csrf": csrf_of(client, "/login"), "username": name, "password": password},
                       follow_redirects=False)


def test_pages_need_a_user_session(with_users):
    assert with_users.get("/kb", follow_redirects=False).headers["location"] == "/login"
    login = with_users.get("/login").text
    assert 'name="username"' in login and 'name="password"' in login and 'name="token"' not in login
    for name, password in (("alice", "wrong password here"), ("mallory", PASSWORD)):
        refused = _sign_in(with_users, name, password)
        assert refused.status_code == 401 and "Wrong user name or password." in refused.text
        assert "souverain_session" not in refused.cookies
    signed = _sign_in(with_users, "alice", PASSWORD)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie  # plain http test
    assert with_users.get("/kb").status_code == 200
    assert 'action="/logout"' in with_users.get("/kb").text


def test_sign_out_revokes_the_session(with_users):
    _sign_in(with_users, "alice", PASSWORD)
    kept = with_users.cookies["souverain_session"]
    assert with_users.post("/logout", data={"csrf": "forged"}).status_code == 403  # CSRF checked
    out = with_users.post("/logout", data={"csrf": csrf_of(with_users, "/kb")}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    with_users.cookies.set("souverain_session", kept)  # a copy of the cookie kept after signing out
    assert with_users.get("/kb", follow_redirects=False).status_code == 303


def test_secure_cookies_flag(tmp_path, world_dns):
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    with make_client(tmp_path, world_dns, users=read_users(users), secure_cookies=True) as client:
        assert "Secure" in _sign_in(client, "alice", PASSWORD).headers["set-cookie"]


def test_the_api_still_asks_for_the_bearer_token(tmp_path, world_dns):
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    with make_client(tmp_path, world_dns, users=read_users(users)) as client:
        _sign_in(client, "alice", PASSWORD)
        closed = client.get("/api/v1/kb/search?q=ovh")  # a user session is not an API credential
        assert closed.status_code == 401 and "--token-file" in closed.json()["detail"]
    with make_client(tmp_path, world_dns, users=read_users(users), token=TOKEN) as client:
        assert client.get("/api/v1/kb/search?q=ovh").status_code == 401
        assert client.get("/api/v1/kb/search?q=ovh", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        login = client.get("/login").text
        assert 'name="username"' in login and 'name="token"' in login  # either way in
        signed = client.post("/login", data={"csrf": csrf_of(client, "/login"), "token": TOKEN}, follow_redirects=False)
        assert signed.status_code == 303


def test_sign_in_attempts_are_rate_limited(tmp_path, world_dns):
    users = tmp_path / "users"
    write_user(users, "alice", PASSWORD)
    with make_client(tmp_path, world_dns, users=read_users(users), rate=3) as client:
        codes = [_sign_in(client, "alice", "wrong password here").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
