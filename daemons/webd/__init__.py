"""webd: the operators' REST API (and, next, the web HMI) over the gateway's live values,
history, alarms and secured writes (docs/webd.md)."""
