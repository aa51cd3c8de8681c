"""Training jobs: `store` keeps them on disk, `launch` checks and starts one, `runner` trains inside its process."""
