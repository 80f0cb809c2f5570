"""opcuad: the OPC-UA server for SCADA masters — address space from the tag maps, live
values from the rings, history read, secured and audited writes (docs/opcua.md)."""
