"""GitOps: applications rendered from git sources and kept in sync on members."""
