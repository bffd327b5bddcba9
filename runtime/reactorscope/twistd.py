"""twistd as a module: ``python -m reactorscope run -m reactorscope.twistd [twistd options]``.

``twisted.scripts.twistd`` has no ``__main__`` block, so ``-m twisted.scripts.twistd`` would do nothing.
The ``twistd`` script itself works too: ``python -m reactorscope run "$(command -v twistd)" ...``.
"""
from twisted.scripts.twistd import run

if __name__ == "__main__":
    run()
