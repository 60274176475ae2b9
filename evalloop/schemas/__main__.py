"""`python -m evalloop.schemas [FOLDER]`: regenerate the JSON Schema files."""

import sys

from evalloop.schemas import main

sys.exit(main())
