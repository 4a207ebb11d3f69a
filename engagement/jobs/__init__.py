"""Background jobs: the service, the job repository, and the RQ queue."""
