from daemons.opcuad.main import entry

entry()
