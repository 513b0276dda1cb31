"""PyInstaller runtime hook: with CERTDESK_DIAGNOSE=1 the frozen program prints its support report and exits.

The build's smoke test uses it to prove, inside the frozen program itself, that the resources, the
default data folder, the Qt plugins and the platform's keyring backend are all found.
"""

import json
import os
import sys

if os.environ.get("CERTDESK_DIAGNOSE") == "1":
    from certdesk.platform_check import diagnostics

    json.dump(diagnostics(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()
    sys.exit(0)
