"""python -m bench: see bench/figures.py (a module of its own so worker processes can import it)."""
from bench.figures import main

raise SystemExit(main())
