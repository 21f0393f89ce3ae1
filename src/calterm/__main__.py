"""`python -m calterm` is the same as the `calterm` console script."""

import sys

from calterm.cli import main

sys.exit(main())
