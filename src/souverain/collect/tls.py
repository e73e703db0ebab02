"""TLS for the web collector: client contexts, and what a server's certificate says.

The issuer of a site's certificate is evidence (which certificate authority the organisation
depends on) whether or not it verifies, so the facts are read from the connection either way and
the verification outcome is recorded next to them.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from souverain.errors import UsageError


@functools.lru_cache(maxsize=8)
def client_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """Contexts are costly to build (the trust store is parsed) and safe to share: cache them."""
    if verify:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA file {ca_file}: {exc}") from exc
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def parse_certificate(der: bytes) -> dict[str, Any]:
    """Issuer, subject, names and validity of a DER certificate (raises ValueError if malformed)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = san_ext.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in san_ext.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        san = []
    return {
        "issuer_organization": _name_value(cert.issuer, NameOID.ORGANIZATION_NAME),
        "issuer_common_name": _name_value(cert.issuer, NameOID.COMMON_NAME),
        "issuer_country": _name_value(cert.issuer, NameOID.COUNTRY_NAME),
        "subject_common_name": _name_value(cert.subject, NameOID.COMMON_NAME),
        "san": san,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def tls_facts(sslobj: ssl.SSLObject | None, verified: bool, error: str | None) -> dict[str, Any]:
    """Protocol, cipher and certificate of an open TLS connection, with its verification outcome
    (``error``: why verification failed, or why the certificate could not be read)."""
    cipher = sslobj.cipher() if sslobj else None
    facts: dict[str, Any] = {
        "verified": verified, "error": error, "issuer_organization": None,
        "issuer_common_name": None, "issuer_country": None, "subject_common_name": None,
        "san": [], "not_before": None, "not_after": None,
        "version": sslobj.version() if sslobj else None, "cipher": cipher[0] if cipher else None,
    }
    der = sslobj.getpeercert(binary_form=True) if sslobj else None
    if der:
        try:
            facts.update(parse_certificate(der))
        except ValueError as exc:
            facts["error"] = facts["error"] or f"unreadable certificate: {exc}"
    return facts
