"""A loopback HTTP/HTTPS server and a throw-away certificate authority for test worlds.

``WebServer`` serves ``site_dir/<Host header>/<path>`` (``index.html`` for directories) over
HTTP and, given a ``TestCA``, over HTTPS with a certificate chosen by SNI. Files next to the
host folders shape each host's behaviour:

- ``redirects.yaml``: ``{host: {path: [status, location]}}``
- ``issuers.yaml``: ``{host: "Let's Encrypt"}``: the host's certificate is issued by an
  intermediate CA whose organisation (O=) is that name, so a scanner reads that issuer
- ``slow.yaml``: ``{host: seconds}`` waited before answering (also the ``slow=`` argument)
- ``headers.yaml``: ``{host: {Header: value}}`` extra response headers (they win over ours)

Built-in routes on every host bound-test clients: ``/huge`` (endless chunked body),
``/huge-unsized`` (endless body without length, until the client hangs up), ``/huge-headers``
(endless headers); ``?chunked`` on any file sends it chunked.

Run it by hand: ``python -m souverain.testing.httpserver SITE_DIR --http-port 8080``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import mimetypes
import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Self
from urllib.parse import unquote

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from souverain.errors import UsageError

_Key = ec.EllipticCurvePrivateKey
_Reader = asyncio.StreamReader
_Writer = asyncio.StreamWriter
_STREAM_LIMIT = 1 << 30  # endless routes stop after 1 GiB, in case a client never hangs up
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other",
            307: "Temporary Redirect", 308: "Permanent Redirect", 404: "Not Found",
            405: "Method Not Allowed"}


class TestCA:
    """A root CA, intermediates named after issuers, and leaf certificates for host names.

    Keys are EC P-256 (fast to generate). PEM files live in ``directory`` (a new temporary
    folder by default, removed by ``cleanup()``); clients trust ``ca_file``.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path | None = None,
                 organization: str = "souverain test CA") -> None:
        self._owned = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="souverain-ca-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.organization = organization
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = _name(organization, f"{organization} root")
        self.cert = _certificate(name, self._key.public_key(), name, self._key, ca_path_length=1)
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._intermediates: dict[str, tuple[_Key, x509.Certificate]] = {}
        self._leaves: dict[tuple[str, str | None], tuple[Path, Path]] = {}
        self._lock = threading.Lock()  # the server thread issues on demand while tests run

    def issue(self, host: str, issuer_organization: str | None = None) -> tuple[Path, Path]:
        """(chain PEM: leaf, intermediate, root; key PEM) for ``host``; cached."""
        with self._lock:
            key = (host, issuer_organization)
            if key not in self._leaves:
                self._leaves[key] = self._issue(host, issuer_organization)
            return self._leaves[key]

    def server_context(self, host: str, issuer_organization: str | None = None) -> ssl.SSLContext:
        chain, key = self.issue(host, issuer_organization)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        return context

    def cleanup(self) -> None:
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _issue(self, host: str, issuer_organization: str | None) -> tuple[Path, Path]:
        signer_key, signer_cert = self._key, self.cert
        chain = []
        if issuer_organization:
            signer_key, signer_cert = self._intermediate(issuer_organization)
            chain.append(signer_cert)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(_name(None, host), leaf_key.public_key(), signer_cert.subject,
                            signer_key, host=host)
        stem = f"{host}--{issuer_organization or 'root'}".replace("/", "_").replace(" ", "_")
        chain_file, key_file = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        pem = serialization.Encoding.PEM
        # The root goes last in every chain, as many servers send it: a client that trusts the CA
        # by its key (Chromium's --ignore-certificate-errors-spki-list) sees it in what is sent.
        chain_file.write_bytes(b"".join(cert.public_bytes(pem) for cert in [leaf, *chain, self.cert]))
        key_file.write_bytes(leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return chain_file, key_file

    def _intermediate(self, organization: str) -> tuple[_Key, x509.Certificate]:
        if organization not in self._intermediates:
            key = ec.generate_private_key(ec.SECP256R1())
            subject = _name(organization, f"{organization} test issuer")
            cert = _certificate(subject, key.public_key(), self.cert.subject, self._key,
                                ca_path_length=0)
            self._intermediates[organization] = (key, cert)
        return self._intermediates[organization]


def _name(organization: str | None, common_name: str) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ZZ")] if organization else []
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    return x509.Name(parts)


def _certificate(subject: x509.Name, public_key, issuer: x509.Name, signing_key, *,
                 ca_path_length: int | None = None, host: str | None = None) -> x509.Certificate:
    """A certificate with the extensions strict verifiers (OpenSSL X509_STRICT) insist on."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                       critical=False)
    )
    is_ca = ca_path_length is not None
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=ca_path_length), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=not is_ca, key_cert_sign=is_ca, crl_sign=is_ca, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
        decipher_only=False), critical=True)
    if host is not None:
        try:
            alt_name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt_name = x509.DNSName(host)
        builder = builder.add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _per_host(path: Path) -> dict:
    """``{host: setting}`` from a YAML file next to the host folders, hosts lowercased."""
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
    return {str(host).lower(): setting for host, setting in data.items()}


class WebServer:
    """Serve ``site_dir`` on a loopback address, HTTP always, HTTPS when given a ``TestCA``."""

    def __init__(self, site_dir: Path, ca: TestCA | None = None, host: str = "127.0.0.1", *,
                 slow: dict[str, float] | None = None, http_port: int = 0,
                 https_port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise UsageError(f"the test web server only listens on loopback addresses, not {host}")
        self.site_dir = Path(site_dir).resolve()
        self.ca = ca
        self.host = host
        self.http_port: int | None = http_port
        self.https_port: int | None = https_port if ca else None
        self.redirects: dict[str, dict] = _per_host(self.site_dir / "redirects.yaml")
        self.issuers: dict[str, str] = _per_host(self.site_dir / "issuers.yaml")
        self.extra_headers: dict[str, dict] = _per_host(self.site_dir / "headers.yaml")
        self.slow = {h: float(s) for h, s in _per_host(self.site_dir / "slow.yaml").items()}
        self.slow.update({h.lower(): float(s) for h, s in (slow or {}).items()})
        self.requests: list[tuple[str, str, str]] = []  # (scheme, host, target), for assertions
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._handlers: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def connect_to(self) -> list[str]:
        """``--connect-to`` rules sending ports 80 and 443 of every host here, and nothing else
        anywhere: a last catch-all keeps tests on loopback even for unexpected ports."""
        rules = [f":80:{self._url_host}:{self.http_port}"]
        if self.https_port:
            rules.append(f":443:{self._url_host}:{self.https_port}")
        return [*rules, f"::{self._url_host}:"]

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    # -- TLS -----------------------------------------------------------------------------
    def _context_for(self, name: str) -> ssl.SSLContext:
        assert self.ca is not None
        if name not in self._contexts:
            self._contexts[name] = self.ca.server_context(name, self.issuers.get(name))
        return self._contexts[name]

    def _tls_context(self) -> ssl.SSLContext:
        context = self._context_for("localhost")  # served to clients that send no SNI

        def choose(sslobj, server_name, _context) -> None:
            if server_name:
                sslobj.context = self._context_for(server_name.lower())

        context.sni_callback = choose
        return context

    # -- HTTP ----------------------------------------------------------------------------
    async def _client(self, reader: _Reader, writer: _Writer, scheme: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            fields = (line.partition(":") for line in lines)
            host = _host_of(next((v for k, _, v in fields if k.strip().lower() == "host"), ""))
            self.requests.append((scheme, host, target))
            if host in self.slow:
                await asyncio.sleep(self.slow[host])
            await self._respond(writer, method, host, target)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away, timed out or spoke nonsense: nothing to answer
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _respond(self, writer: _Writer, method: str, host: str, target: str) -> None:
        path, _, query = target.partition("?")
        extra = {str(k): str(v) for k, v in self.extra_headers.get(host, {}).items()}
        routes = self.redirects.get(host, {})
        redirect = routes.get(target) or routes.get(path)
        if method != "GET":
            await _send(writer, 405, {}, b"")
        elif redirect:
            status, location = redirect
            await _send(writer, int(status), {**extra, "Location": str(location)}, b"")
        elif path in ("/huge", "/huge-unsized"):
            await _stream_endlessly(writer, extra, chunked=path == "/huge")
        elif path == "/huge-headers":
            await _endless_headers(writer)
        else:
            file = self._file_for(host, unquote(path))
            if file is None:
                await _send(writer, 404, {**extra, "Content-Type": "text/plain"}, b"not found\n")
                return
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            kind += "; charset=utf-8" if kind.startswith("text/") else ""
            headers = {"Content-Type": kind, **extra}
            await _send(writer, 200, headers, file.read_bytes(), chunked="chunked" in query)

    def _file_for(self, host: str, path: str) -> Path | None:
        root = (self.site_dir / host).resolve()
        if not host or not root.is_relative_to(self.site_dir) or not root.is_dir():
            return None
        file = (root / path.lstrip("/")).resolve()
        if not file.is_relative_to(root):  # "/../" tricks stay inside the host folder
            return None
        if file.is_dir():
            file = file / "index.html"
        return file if file.is_file() else None

    # -- running -------------------------------------------------------------------------
    async def serve(self) -> None:
        self._stop = asyncio.Event()
        servers = [await asyncio.start_server(
            lambda r, w: self._client(r, w, "http"), self.host, self.http_port)]
        self.http_port = servers[0].sockets[0].getsockname()[1]
        if self.ca is not None:
            servers.append(await asyncio.start_server(
                lambda r, w: self._client(r, w, "https"), self.host, self.https_port,
                ssl=self._tls_context()))
            self.https_port = servers[1].sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for server in servers:
                server.close()
            for task in list(self._handlers):  # slow and endless handlers would outlive us
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            for server in servers:
                try:
                    await asyncio.wait_for(server.wait_closed(), 1)
                except TimeoutError:
                    pass

    def start(self) -> Self:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.serve())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises
                self._failure = exc
                self._ready.set()
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="souverain-test-web", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"test web server did not start: {self._failure}")
        return self

    def stop(self) -> None:
        if self._loop and self._stop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _host_of(header: str) -> str:
    """Host header without port, lowercased: ``Example.test:8080`` -> ``example.test``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header.rstrip(".")


async def _send(writer: _Writer, status: int, headers: dict[str, str], body: bytes,
                *, chunked: bool = False) -> None:
    reason = _REASONS.get(status, "Status")
    head = [f"HTTP/1.1 {status} {reason}", "Server: souverain-test", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    if chunked:  # small chunks, one with an extension, then a trailer: exercise the parser
        for start in range(0, len(body), 100):
            piece = body[start:start + 100]
            extension = ";note=first" if start == 0 else ""
            writer.write(f"{len(piece):x}{extension}\r\n".encode() + piece + b"\r\n")
        writer.write(b"0\r\nX-Trailer: done\r\n\r\n")
    else:
        writer.write(body)
    await writer.drain()


async def _drain(writer: _Writer) -> None:
    """``drain()`` returns at once while the buffer is low, and over TLS the buffer stays low
    even after the peer hung up (writes are dropped): yield so the loss can be noticed."""
    await writer.drain()
    await asyncio.sleep(0)


async def _stream_endlessly(writer: _Writer, headers: dict[str, str], *, chunked: bool) -> None:
    head = ["HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head += ["Transfer-Encoding: chunked"] if chunked else []
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    block = b"<p>" + b"x" * (64 * 1024 - 8) + b"</p>\n"
    piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
    sent = 0
    while sent < _STREAM_LIMIT and not writer.is_closing():
        writer.write(piece)
        await _drain(writer)
        sent += len(piece)


async def _endless_headers(writer: _Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    sent = 0
    while sent < _STREAM_LIMIT and not writer.is_closing():
        line = f"X-Filler-{sent}: {'y' * 200}\r\n".encode()
        writer.write(line)
        await _drain(writer)
        sent += len(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--https-port", type=int, default=8443)
    parser.add_argument("--no-tls", action="store_true", help="serve HTTP only")
    args = parser.parse_args()
    ca = None if args.no_tls else TestCA()
    server = WebServer(args.site, ca, args.host, http_port=args.http_port,
                       https_port=args.https_port)
    server.start()
    if ca is not None:
        print(f"trust {ca.ca_file} (e.g. curl --cacert)", flush=True)
    print(f"serving {args.site}: --connect-to {' --connect-to '.join(server.connect_to())}",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if ca is not None:
            ca.cleanup()

if __name__ == "__main__":
    main()
