"""Every command, walked with the mistakes people make: a bad -o, a bad --db, a bad date, a hostile
or mis-encoded YAML file. Each must end with exit 2 and ONE line on stderr (no traceback), show no
password, and leave no output file, database file or folder behind."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli

SECRET = "s3cret-pw"
# command -> its arguments; {input} and {ipasn} are filled in by the fixture
COMMANDS = {
    "who": ["who", "eusub"],
    "scan": ["scan", "example.test", "--nameserver", "127.0.0.1:9", "--timeout", "0.05", "--no-web-fetch", "--quiet"],
    "assess": ["assess", "aws-esc"],
    "compare": ["compare", "aws-esc", "s3ns-premi3ns"],
    "kb list": ["kb", "list"],
    "kb show": ["kb", "show", "eusub"],
    "kb search": ["kb", "search", "eu"],
    "kb stats": ["kb", "stats"],
    "kb update-ipasn": ["kb", "update-ipasn", "--from", "{ipasn}", "--date", "2026-11-28"],
    "history": ["history", "example.test"],
    "survey run": ["survey", "run", "{input}", "--nameserver", "127.0.0.1:9", "--timeout", "0.05", "--workers", "1",
                   "--quiet"],
    "survey report": ["survey", "report", "r1"],
    "survey diff": ["survey", "diff", "r1", "r2"],
    "survey list": ["survey", "list"],
}
WITH_OUTPUT = [c for c in COMMANDS if c not in ("survey list",)]
WITH_DB = ["scan", "history", "survey run", "survey report", "survey diff", "survey list"]
WITH_AT = ["who", "scan", "assess", "compare", "survey run"]


class World:
    """A folder holding every input the cases need; anything new in it after a refused command fails the test."""

    def __init__(self, root: Path, kb: Path) -> None:
        self.root, self.kb = root, kb
        self.work = root / "work"
        self.work.mkdir()
        self.existing = root / "existing-folder"
        self.existing.mkdir()
        (root / "in.txt").write_text("example.test\n")
        (root / "ipasn").mkdir()
        (root / "ipasn/asn-ipv4.csv").write_text("192.0.2.0,192.0.2.255,64500,Example\n")
        (root / "ipasn/asn-ipv6.csv").write_text("2001:db8::,2001:db8::ffff,64500,Example\n")
        (root / "ipasn/asn-country-ipv4.csv").write_text("192.0.2.0,192.0.2.255,IT\n")
        (root / "ipasn/asn-country-ipv6.csv").write_text("2001:db8::,2001:db8::ffff,IT\n")
        (root / "empty-ipasn").mkdir()
        (root / "not-sqlite.db").write_text("these are not the tables you are looking for\n")
        with sqlite3.connect(root / "other-app.db") as conn:
            conn.execute("CREATE TABLE contacts (name TEXT)")
            conn.executemany("INSERT INTO contacts VALUES (?)", [("x" * 500,)] * 100)
        conn.close()
        raw = (root / "other-app.db").read_bytes()
        (root / "corrupt.db").write_bytes(raw[:100] + b"\xff" * (len(raw) - 100))  # a SQLite header, garbage after

    def args(self, command: str) -> list[str]:
        prefix = [] if command in ("assess", "compare") else ["--kb", str(self.kb)]  # assess needs the frameworks
        values = {"input": str(self.root / "in.txt"), "ipasn": str(self.root / "ipasn")}
        return [*prefix, *(arg.format(**values) for arg in COMMANDS[command])]

    def files(self) -> set[Path]:
        return {path.relative_to(self.root) for path in self.root.rglob("*")}


@pytest.fixture
def world(tmp_path, mini_kb_dir, monkeypatch) -> World:
    monkeypatch.delenv("SOUVERAIN_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data" / "xdg"))  # the default database would land here
    root = tmp_path / "data"
    root.mkdir()
    made = World(root, mini_kb_dir)
    monkeypatch.chdir(made.work)
    return made


def refused(world: World, args: list[str], expected: str, env: dict | None = None) -> str:
    """Run the command; assert exit 2, one stderr line holding ``expected``, no secret, nothing created."""
    before = world.files()
    result = CliRunner().invoke(cli, args, env=env)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output and SECRET not in result.output
    assert world.files() == before, sorted(map(str, world.files() - before))
    return lines[0]


def _output_flag(command: str) -> str:
    return "--out" if command == "kb update-ipasn" else "-o"


def _name(command: str) -> str:
    return {"survey run": "x.jsonl", "kb update-ipasn": "x.bin"}.get(command, "x.json")


@pytest.mark.parametrize("command", WITH_OUTPUT)
def test_output_in_a_missing_folder(world, command):
    target = world.root / "missing" / _name(command)
    line = refused(world, [*world.args(command), _output_flag(command), str(target)], "does not exist")
    assert str(target.parent) in line


@pytest.mark.parametrize("command", WITH_OUTPUT)
def test_output_that_is_a_folder(world, command):
    refused(world, [*world.args(command), _output_flag(command), str(world.existing)], "is a folder")


def test_survey_export_extension_is_checked_before_the_run(world):
    line = refused(world, [*world.args("survey run"), "-o", str(world.root / "out.xlsx")], ".jsonl, .csv, .parquet")
    assert "out.xlsx" in line


DB_CASES = {
    "missing-folder": ("sqlite:///{root}/missing/x.db", "folder {root}/missing does not exist"),
    "not-sqlite": ("sqlite:///{root}/not-sqlite.db", "not-sqlite.db is not a SQLite file"),
    "corrupt-sqlite": ("sqlite:///{root}/corrupt.db", "corrupt.db is not a usable SQLite database"),
    "other-application": ("sqlite:///{root}/other-app.db", "other-app.db is not a souverain database"),
    "folder": ("sqlite:///{root}/existing-folder", "is not a file"),
    "unknown-scheme": (f"mysql://user:{SECRET}@127.0.0.1/db", "unsupported database 'mysql'"),
    "unparsable": (f"postgresql://user:{SECRET}@[::1/db", "is not a database URL"),
    "unreachable-postgresql": (f"postgresql://user:{SECRET}@127.0.0.1:1/db", "postgresql://user:***@127.0.0.1:1/db"),
    "missing-driver": (f"postgresql+pg8000://user:{SECRET}@127.0.0.1:1/db", "postgresql+pg8000://user:***@"),
}


@pytest.mark.parametrize("case", DB_CASES)
@pytest.mark.parametrize("command", WITH_DB)
def test_bad_database(world, command, case):
    url, expected = (text.format(root=world.root) for text in DB_CASES[case])
    refused(world, [*world.args(command), "--db", url], expected)


def test_bad_database_from_the_environment(world):
    refused(world, world.args("history"), "postgresql://user:***@127.0.0.1:1/db",
            env={"SOUVERAIN_DB": f"postgresql://user:{SECRET}@127.0.0.1:1/db"})


@pytest.mark.parametrize("date", ["banana", "2026-02-30", "28/11/2026"])
@pytest.mark.parametrize("command", WITH_AT)
def test_bad_at_date(world, command, date):
    refused(world, [*world.args(command), "--at", date], f"{date!r} is not a date")


@pytest.mark.parametrize("date", ["banana", "2026-13-01"])
def test_bad_ipasn_date(world, date):
    args = world.args("kb update-ipasn")
    args[args.index("--date") + 1] = date
    refused(world, [*args, "--out", str(world.root / "t.bin")], f"{date!r} is not a date")


def test_ipasn_folder_without_the_tables(world):
    args = world.args("kb update-ipasn")
    args[args.index("--from") + 1] = str(world.root / "empty-ipasn")
    refused(world, [*args, "--out", str(world.root / "t.bin")], "lacks asn-ipv4.csv and asn-ipv6.csv")


def test_ipasn_folder_without_the_country_tables(world):
    for name in ("asn-country-ipv4.csv", "asn-country-ipv6.csv"):
        (world.root / "ipasn" / name).unlink()
    refused(world, [*world.args("kb update-ipasn"), "--out", str(world.root / "t.bin")],
            "lacks asn-country-ipv4.csv and asn-country-ipv6.csv")


def test_ipasn_table_that_is_not_utf8(world):
    (world.root / "ipasn/asn-ipv6.csv").write_bytes(b"2001:db8::,2001:db8::ffff,64500,Soci\xe9t\xe9\n")
    refused(world, [*world.args("kb update-ipasn"), "--out", str(world.root / "t.bin")], "asn-ipv6.csv:1: not UTF-8")


def test_unreachable_scheduler(world):
    refused(world, [*world.args("survey run"), "--executor", "dask", "--scheduler", f"tcp://user:{SECRET}@127.0.0.1:1"],
            "tcp://user:***@127.0.0.1:1: cannot connect")


# -- hostile YAML: an answers file, or a record in a KB given with --kb ------------------------------------------
def billion_laughs(levels: int = 30) -> bytes:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):  # 9**30 "lol"s once expanded
        previous = "a" if level == 1 else f"l{level - 1}"
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


YAML_CASES = {  # content, line, what the line says
    "billion-laughs": (billion_laughs(), 2, "alias *a is not allowed"),
    "recursive-alias": (b"id: zz\na: &a [*a]\n", 2, "alias *a is not allowed"),
    "merge-key": (b"base: &base {name: x}\nid: zz\nother:\n  <<: *base\n", 4, "alias *base is not allowed"),
    "deep-nesting": (b"id: zz\nx: " + b"[" * 200_000 + b"]" * 200_000 + b"\n", 2, "nested more than"),
    "binary": (b"id: zz\n" + bytes(range(256)) * 8, 2, "binary data"),
    "latin-1": ("id: zz\nname: Société Générale\n".encode("latin-1"), 2, "not UTF-8 text (byte 0xe9)"),
    "utf-16": ("id: zz\n".encode("utf-16"), 1, "UTF-16 text"),
    "oversize": (b"id: zz\nname: " + b"x" * (3 * 1024 * 1024) + b"\n", 1, "file too large"),
    "control-character": (b"id: zz\nname: a\x01b\n", 2, "control characters are not allowed"),
    "syntax": (b"id: zz\nname: [unclosed\ncountry: FR\n", 3, "flow sequence"),
    "huge-integer": (b"id: zz\nn: " + b"9" * 5000 + b"\n", 2, "bad value"),
    "impossible-date": (b"id: zz\nas_of: 2026-02-30\n", 2, "bad value"),
    "python-tag": (b"id: zz\nx: !!python/object/apply:os.system [echo]\n", 2, "could not determine a constructor"),
}


@pytest.mark.parametrize("case", YAML_CASES)
def test_hostile_answers_file(world, case):
    content, line, expected = YAML_CASES[case]
    path = world.root / "answers.yaml"
    path.write_bytes(content)
    message = refused(world, ["assess", "--answers", str(path)], expected)
    assert message.startswith(f"{path}:{line}: "), message


@pytest.mark.parametrize("case", YAML_CASES)
@pytest.mark.parametrize("command", ["who", "kb list", "version"])
def test_hostile_kb_record(world, case, command):
    content, line, expected = YAML_CASES[case]
    record = world.kb / "entities" / "zz.yaml"
    record.write_bytes(content)
    args = ["--kb", str(world.kb), "--version"] if command == "version" else world.args(command)
    message = refused(world, args, expected)
    assert message.startswith(f"{record.resolve()}:{line}: "), message


def test_hostile_record_in_kb_validate(world):
    (world.kb / "entities" / "zz.yaml").write_bytes(billion_laughs())
    result = CliRunner().invoke(cli, ["kb", "validate", "--path", str(world.kb)])
    assert result.exit_code == 2
    record = (world.kb / "entities/zz.yaml").resolve()
    assert result.stdout.splitlines() == [f"{record}:2: alias *a is not allowed (write the value out)",
                                          "1 problem(s) in the knowledge base."]


def test_duplicate_key_in_answers_file(world):
    path = world.root / "answers.yaml"
    template = CliRunner().invoke(cli, ["assess", "--template"]).stdout
    path.write_text(template.replace("name: My offer\n", "name: My offer\nname: Other name\n", 1))
    line = template.splitlines().index("name: My offer") + 2
    refused(world, ["assess", "--answers", str(path)],
            f"{path}:{line}: name: duplicate key 'name' (first on line {line - 1})")


# -- the messages themselves ----------------------------------------------------------------------------------
def test_click_usage_errors_are_one_line(world):
    for args, expected in ((["who"], "Missing argument"), (["who", "x.test", "--nope"], "No such option"),
                           (["kb", "list", "--format", "xml"], "'xml' is not one of")):
        refused(world, args, expected)


def test_redact():
    from souverain.errors import redact

    assert redact("postgresql://u:pw-1@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql+psycopg://u:p@ss/w:rd@h/db") == "postgresql+psycopg://u:***@h/db"
    assert redact("'postgresql://h/db?user=u&password=pw-1&sslmode=require'") == \
        "'postgresql://h/db?user=u&password=***&sslmode=require'"
    assert redact("failed for pw-1234 at sqlite:///x.db", "pw-1234") == "failed for *** at sqlite:///x.db"
    assert redact("tcp://10.0.0.5:8786 and postgresql://u@h/db") == "tcp://10.0.0.5:8786 and postgresql://u@h/db"


def test_good_inputs_still_work(world):
    """The checks refuse only what is wrong: a new SQLite file in an existing folder, -o beside it."""
    db = f"sqlite:///{world.root / 'new.db'}"
    result = CliRunner().invoke(cli, [*world.args("history"), "--db", db, "-o", str(world.root / "h.json"),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    assert (world.root / "new.db").is_file() and (world.root / "h.json").is_file()
    again = CliRunner().invoke(cli, [*world.args("survey list"), "--db", db])  # a souverain database is accepted
    assert again.exit_code == 0, again.output
    table = world.root / "t.bin"
    built = CliRunner().invoke(cli, [*world.args("kb update-ipasn"), "--out", str(table)])
    assert built.exit_code == 0, built.output
    assert table.is_file() and not list(world.root.glob("t.bin.*"))


def test_database_of_another_shape_fails_in_one_line(world):
    """Tables with souverain's names but other columns (another version): found while querying."""
    with sqlite3.connect(world.root / "old.db") as conn:
        conn.execute("CREATE TABLE surveys (id INTEGER PRIMARY KEY)")
    conn.close()
    refused(world, [*world.args("survey list"), "--db", f"sqlite:///{world.root / 'old.db'}"],
            "error: the database failed: no such column")


def test_output_in_a_folder_that_is_not_writable(world, monkeypatch):
    locked = world.existing
    real_access = os.access
    # root ignores chmod: the folder is made unwritable where souverain asks
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    refused(world, [*world.args("who"), "-o", str(locked / "x.json")], f"{locked / 'x.json'} is not writable")
    refused(world, [*world.args("history"), "--db", f"sqlite:///{locked / 'x.db'}"], f"folder {locked} is not writable")


@pytest.mark.skipif(not os.environ.get("SOUVERAIN_TEST_POSTGRES"),
                    reason="set SOUVERAIN_TEST_POSTGRES to a PostgreSQL URL")
@pytest.mark.parametrize("command", WITH_DB)
def test_postgresql_refusals_hide_the_password(world, command):
    import sqlalchemy as sa

    url = sa.make_url(os.environ["SOUVERAIN_TEST_POSTGRES"])
    wrong_password = url.set(password=SECRET).render_as_string(hide_password=False)
    refused(world, [*world.args(command), "--db", wrong_password], "password authentication failed")
    no_database = url.set(database="souverain_no_such_db").render_as_string(hide_password=False)
    line = refused(world, [*world.args(command), "--db", no_database], "does not exist")
    # every reappearance of the password is hidden: a user name equal to it is hidden too
    user = "***" if url.username == url.password else url.username
    assert url.password not in line and f"{user}:***@" in line
