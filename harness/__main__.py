"""``python -m harness`` is ``ws-harness`` (for machines where scripts are not on PATH)."""

import sys

from harness.cli import main

sys.exit(main())
