"""``python -m sqllake``: the command line."""

import sys

from sqllake.cli.main import main

sys.exit(main())
