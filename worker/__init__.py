"""The worker daemon: a Huey consumer that delivers messages through their backends."""
