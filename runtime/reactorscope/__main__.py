"""`python -m reactorscope`: the command-line entry."""
import sys

from reactorscope.cli import main

sys.exit(main())
