from daemons.calcd.main import entry

entry()
