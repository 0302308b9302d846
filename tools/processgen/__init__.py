"""Generator of the shipped approval processes (BPMN with DI) and their forms: `python -m tools.processgen`.

It bootstraps processes/commercial_project.bpmn, processes/government_investment_project.bpmn and forms/; once
committed, those files are the source of truth (designers edit them in any modeler). `--check` reports drift.
"""
