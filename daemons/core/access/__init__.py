"""Access: gateway users, the eight roles with field → well scope, the one `authorize`
decision, and the hash-chained audit log (docs/access.md).

model     roles, modules, operations; User, Scope, Decision (frozen)
matrix    the permission matrix files (config/permissions.csv and the site's rows)
policy    Policy.authorize / authorize(user, module, operation, well=None, policy=…)
passwords argon2id hashing, password policy, API keys
users     users.db;  accounts: administration and logins, checked and audited
audit     audit.db: the chain's appender and reader;  chain: encoding and verification
writes    the identity acqd attaches to a write (SO_PEERCRED, delegation) and its check
oidc      the seam for delegating password checks to an OpenID Connect provider
"""

from daemons.core.access.model import (
    MODULES,
    OPERATIONS,
    ROLES,
    SOURCES,
    SYSTEM,
    Decision,
    Scope,
    User,
)
from daemons.core.access.policy import Policy, authorize, load_policy

__all__ = ["MODULES", "OPERATIONS", "ROLES", "SOURCES", "SYSTEM", "Decision", "Policy",
           "Scope", "User", "authorize", "load_policy"]
