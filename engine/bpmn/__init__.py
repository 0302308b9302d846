"""SpiffWorkflow adapters: the only package that imports SpiffWorkflow or lxml."""

from engine.bpmn import fast_end, fast_join, fast_scan, fast_steps, log_extras, task_ids

# SpiffWorkflow hot-path patches (each documented in its module and tested against stock behaviour).
fast_scan.install()
fast_join.install()
fast_end.install()
fast_steps.install()
log_extras.install()
task_ids.install()
