"""SpiffWorkflow adapters: the only package that imports SpiffWorkflow or lxml."""
