"""pytest loads this first: with it the repository root is on ``sys.path`` under any pytest command, so the tests
import the generated test media of ``synthetic/`` (kept at the root, out of the installed package)."""
