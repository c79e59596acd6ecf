"""``python -m xltools``. The guard matters: worker processes started by "spawn" (Windows,
macOS) import this module as ``__mp_main__`` and must not run the command line again."""

from .cli import main

if __name__ == "__main__":
    main()
