"""`python -m bench` runs every benchmark module in this folder that has a `main()`."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    only = set(sys.argv[1:])
    for m in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if m.name.startswith("_") or (only and m.name not in only):
            continue
        mod = importlib.import_module(f"bench.{m.name}")
        if hasattr(mod, "main"):
            print(f"== bench.{m.name}", flush=True)
            mod.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
