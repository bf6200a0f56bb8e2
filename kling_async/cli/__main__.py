"""``python -m kling_async.cli``: the same as the ``kling-async`` command."""

from kling_async.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
