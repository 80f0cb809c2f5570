from daemons.webd.main import entry

entry()
