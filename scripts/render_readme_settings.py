"""Paste the settings table of `tap-facebook-pages --about --format markdown` into README.md.

Usage: python scripts/render_readme_settings.py [--check]
"""

from __future__ import annotations

import pathlib
import sys

from singer_sdk.about import AboutFormatter

from tap_facebook_pages.tap import TapFacebookPages

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def settings_table() -> str:
    """The '## Settings' table of the SDK's markdown --about output."""
    about = AboutFormatter.get_formatter("markdown").format_about(
        TapFacebookPages._get_about_info()
    )
    lines = about.splitlines()
    start = lines.index("## Settings") + 1
    table: list[str] = []
    for line in lines[start:]:
        if line.startswith(("| ", "|:")):
            table.append(line)
        elif table:
            break
    return "\n".join(table)


def render(text: str) -> str:
    """README text with the table between the markers replaced."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings_table()}\n{END}{tail}"


def main() -> int:
    """Write README.md, or with --check report whether it is up to date."""
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in sys.argv[1:]:
        if current != wanted:
            print(
                "README.md settings table is out of date; "
                "run: python scripts/render_readme_settings.py"
            )
            return 1
        print("README.md settings table is up to date")
        return 0
    README.write_text(wanted, encoding="utf-8")
    print("wrote README.md settings table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
