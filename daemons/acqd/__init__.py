"""acqd: Modbus RTU/TCP acquisition into the shared ring."""
