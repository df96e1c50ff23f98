# core metadata: objects, validation, YAML (owned by the core-meta work)
