"""Release hygiene (issue 14): the version the tap reports is the installed package's (hatch-vcs,
from the git tag), and the --about description says what the tap extracts."""

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


def test_about_description_is_one_line_naming_what_the_tap_extracts() -> None:
    about = TapFacebookPages._get_about_info()
    description = about.description or ""
    assert "\n" not in description  # printed verbatim by --about (text, json, markdown)
    for item in (
        "page insights",
        "pages",
        "posts",
        "post insights",
        "reels",
        "reel insights",
        "sandbox",
        "Meltano",
    ):
        assert item in description, item
    assert about.version == version("tap-facebook-pages")
