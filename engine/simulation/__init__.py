"""`approvals simulate`: many projects through the real engine (a real database file, the real workers, the
simulated clock) with randomized behaviour, and the figures the reform promises (DOMAIN.md §1)."""
