"""Model versions on disk: the artifacts of one version, the store of all of them, and the registry that serves one."""
