"""``python -m interfaces.auth sign|token`` (see ``interfaces.auth.devcreds``)."""

import sys

from interfaces.auth.devcreds import main

sys.exit(main())
