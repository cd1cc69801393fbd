"""The `mango` command line (``mango.cli``) and the process supervisor of ``mango run``."""
