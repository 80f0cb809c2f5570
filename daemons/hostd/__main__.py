"""``python -m daemons.hostd`` = the ``hostd`` console script."""

from daemons.hostd.main import entry

entry()
