from daemons.alarmd.main import entry

entry()
