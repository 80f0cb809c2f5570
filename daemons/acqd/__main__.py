from daemons.acqd.main import entry

entry()
