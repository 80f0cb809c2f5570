"""hostd: the cloud-side Sparkplug B primary host application writing PostgreSQL."""
