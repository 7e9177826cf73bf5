"""A certificate authority made at start-up, and the certificate it signs for the sandbox's loopback names.

`trustme` is imported here only, when HTTPS is asked for: the rest of the
sandbox needs the standard library alone.
"""

from __future__ import annotations

import ssl
from pathlib import Path

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
INSTALL_HINT = 'HTTPS needs trustme: pip install "pdrun[tls]"'


def server_context(ca_file: Path) -> ssl.SSLContext:
    """Make a fresh CA, write its certificate to `ca_file` (for clients to trust) and return the server's context.

    Raises RuntimeError naming the install command without trustme.
    """
    try:
        import trustme
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None
    authority = trustme.CA(organization_name="pdrun sandbox")
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*LOOPBACK_NAMES).configure_cert(context)
    return context
