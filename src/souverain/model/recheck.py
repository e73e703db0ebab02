"""The commands a person pastes into a shell to re-check a piece of evidence (dig, curl).

Names and URLs come from the network: a zone can hold ``a&id&b.example`` or ```id`.example``
(DNS labels carry any byte) and a page can request ``https://x.example/?a=$(id)``. A command is
therefore built as a list of arguments, each quoted for the shell (``shlex.quote``), so that it
reaches dig or curl unchanged, and each written the way that program reads it:

- a query name stays in DNS presentation format (the wire decoder's ``\\DDD`` escapes); a first
  character that dig would read as an option (``-``, ``+``) or a server (``@``) is escaped the
  same way, and a single label, which dig could read as a type (``mx``), gets its trailing dot;
- curl gets ``--globoff`` (``{}`` and ``[]`` in a URL are not patterns) and a URL whose spaces
  and control characters are percent-encoded, so the command stays on one line.
"""

from __future__ import annotations

import json
import re
import shlex

DIG_DEFAULT_PORT = "53"
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def dig_argv(resolver: str, name: str, rdtype: str) -> list[str]:
    """``dig @server [-p port] NAME TYPE`` for an answer from ``resolver`` (``host:port``)."""
    host, _, port = resolver.rpartition(":")
    argv = ["dig", f"@{host.strip('[]')}"]
    if port != DIG_DEFAULT_PORT:
        argv += ["-p", port]
    return argv + [dig_name(name), rdtype]


def dig_name(name: str) -> str:
    """``name`` as dig reads a query name: presentation format (the decoder's ``\\DDD`` escapes
    kept), with its first character escaped when dig would read it as an option (``-f``,
    ``+short``) or a server (``@host``), and a trailing dot on a single label, which dig would
    read as a type or class (``mx``, ``in``)."""
    if not name or name == ".":
        return "."
    if name[0] in "-+@":
        name = f"\\{ord(name[0]):03d}{name[1:]}"
    return name if "." in name.rstrip(".") or name.endswith(".") else name + "."


def curl_argv(url: str) -> list[str]:
    """``curl -sv --globoff URL``."""
    return ["curl", "-sv", "--globoff", curl_url(url)]


def curl_url(url: str) -> str:
    """``url`` with spaces and control characters percent-encoded (curl would send them raw)."""
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), url)


def file_argv(path: str, line: int | None = None, pointer: str | None = None) -> list[str] | None:
    """``sed -n 14p FILE`` for a line of a text inventory, ``jq 'getpath([...])' FILE`` for a JSON
    pointer (RFC 6901; numeric segments are array indexes, as souverain's readers write them)."""
    if path.startswith("-"):
        path = "./" + path  # never read as an option
    if line is not None:
        return ["sed", "-n", f"{line}p", path]
    if pointer is not None:
        parts: list[str | int] = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
        parts = [int(part) if isinstance(part, str) and part.isdigit() else part for part in parts]
        return ["jq", f"getpath({json.dumps(parts, ensure_ascii=False)})", path]
    return None


def command_line(argv: list[str] | None) -> str | None:
    """The argument list as one shell command line, every argument quoted as needed."""
    return " ".join(_quote(arg) for arg in argv) if argv else None


def _quote(arg: str) -> str:
    """``shlex.quote``, and quotes for a leading ``=`` too (zsh expands it to a command's path)."""
    quoted = shlex.quote(arg)
    return "'" + arg + "'" if quoted == arg and arg.startswith("=") else quoted
