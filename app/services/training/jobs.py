"""What app/controllers/api/jobs.py imports, kept while that route moves: new code imports launch and store."""

from app.services.training.launch import start_training_job
from app.services.training.store import JobStore, job_files

__all__ = ["JobStore", "job_files", "start_training_job"]
