"""Training jobs: started by the API, run in a process of their own, their state kept on disk."""
