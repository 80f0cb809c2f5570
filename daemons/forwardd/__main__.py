from daemons.forwardd.main import entry

entry()
