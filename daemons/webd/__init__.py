"""webd: the operators' web HMI pages and REST API over the gateway's live values,
history, alarms and secured writes (docs/webd.md)."""
