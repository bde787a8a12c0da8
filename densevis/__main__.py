import sys

from densevis.cli import main

sys.exit(main())
