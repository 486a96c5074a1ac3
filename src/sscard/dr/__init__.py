"""Disaster recovery: the state of the Patroni cluster and the pgBackRest repository, and a local cluster."""
