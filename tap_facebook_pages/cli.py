"""Console entry point: the SDK's CLI, with expected failures shown as one clear line."""

from __future__ import annotations

import sys

from tap_facebook_pages.graph.redact import REDACTOR
from tap_facebook_pages.settings import UserError
from tap_facebook_pages.tap import TapFacebookPages


def main() -> None:
    """Run the tap. Expected conditions (bad config, dead token, failed pages) exit non-zero
    with one line on stderr and no traceback."""
    try:
        TapFacebookPages.cli()
    except UserError as error:
        message = REDACTOR.redact(str(error))
        sys.stderr.write(f"tap-facebook-pages: error: {message}\n")
        sys.stderr.flush()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
