"""`python -m stagewise.cli`."""

import sys

from stagewise.cli import main

sys.exit(main())
