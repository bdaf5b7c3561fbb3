"""Importing aioeventlet under ``-W error`` where cryptography is installed.

cryptography 51 deprecates DSA, and eventlet's import reaches it through
dnspython's DNSSEC module: every ``import eventlet`` then warns.  aioeventlet
filters exactly that warning during its own import of eventlet, and nothing
else.  The integration environment installs cryptography (trustme needs it),
so these run against a real release.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest
from packaging.version import Version

pytestmark = pytest.mark.integration


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cryptography_deprecates_dsa_here() -> None:
    """The premise: importing eventlet alone warns wherever cryptography 51
    or later is installed (if a release of dnspython or eventlet stops
    touching DSA, this test says the filter can go), and not before.  The
    lock may hold an older cryptography (pyOpenSSL caps it)."""
    result = run_python(
        "import warnings\n"
        "warnings.filterwarnings('ignore', message=r'\\s*Eventlet is deprecated')\n"
        "import eventlet\n"
    )
    versions = {name: metadata.version(name) for name in ("cryptography", "dnspython")}
    deprecates = Version(versions["cryptography"]) >= Version("51")
    assert (result.returncode != 0) == deprecates, (versions, result.stderr)
    warned = "CryptographyDeprecationWarning: DSA is deprecated" in result.stderr
    assert warned == deprecates


def test_import_aioeventlet_is_silent() -> None:
    result = run_python("import aioeventlet; print('imported')")
    assert (result.returncode, result.stdout, result.stderr) == (0, "imported\n", "")


def test_the_filter_is_narrow() -> None:
    """The same message from any other module still warns (and is an error)."""
    result = run_python(
        "import aioeventlet, warnings\n"
        "warnings.warn('DSA is deprecated', DeprecationWarning)\n"
    )
    assert result.returncode != 0
    assert "DeprecationWarning: DSA is deprecated" in result.stderr
