"""`python -m certdesk` and the `certdesk` command."""

from __future__ import annotations

import sys


def main() -> int:
    from certdesk.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
