"""Release hygiene (issue 14): the version the tap reports is the installed package's (hatch-vcs,
from the git tag)."""

from __future__ import annotations

import re
from importlib.metadata import version

from tap_facebook_pages.tap import TapFacebookPages

# PEP 440 as hatch-vcs writes it: 0.2.0, 0.2.1.dev3+g1a2b3c4d, 0.2.1.dev3+g1a2b3c4d.d20261130
_VCS_VERSION = re.compile(r"\d+\.\d+\.\d+(\.dev\d+)?(\+[0-9a-z.]+)?")


def test_reported_version_is_the_package_metadata() -> None:
    reported = TapFacebookPages.plugin_version
    assert reported == version("tap-facebook-pages")
    assert _VCS_VERSION.fullmatch(reported), reported
