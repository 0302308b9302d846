"""Use cases. Each takes a Session (and `now`), never commits, and returns DTOs."""
