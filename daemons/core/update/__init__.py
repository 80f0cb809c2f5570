"""Signed firmware updates of the frozen gateway image (issue 15; docs/image.md).

keys      Ed25519 key pairs, the trusted public keys in /etc/wellgate/update-keys/
bundle    the update file: a signed manifest (version, arch, every file's hash) and the
          bundle tree; packing on the build machine, verifying and unpacking on the gateway
layout    /opt/wellgate/<version>/, the `current` link, the update state and lock
services  the service manager that restarts the stack (systemctl, or a command hook)
          and the wait for every daemon to be READY and to stay up
apply     apply / rollback / status, each step audited
"""

from daemons.core.update.errors import UpdateError

__all__ = ["UpdateError"]
