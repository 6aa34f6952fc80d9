"""What the test command installs from Debian (.ci/debian-packages): the CJK font, LibreOffice,
poppler-utils and PgBouncer. A test that needs one skips without it on a developer's machine; under
`.ci/run` (CI, ZHIBU_TEST_REQUIRE_DEBIAN=1) it fails instead, so a runner that could not
install them does not pass with those checks silently skipped."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a Debian package, or fail where the run requires them."""
    if os.environ.get("ZHIBU_TEST_REQUIRE_DEBIAN") == "1":
        pytest.fail(f"{reason} (required here: ZHIBU_TEST_REQUIRE_DEBIAN=1)")
    pytest.skip(reason)
