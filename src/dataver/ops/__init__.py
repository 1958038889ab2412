"""One module per verb; each takes a Repo and returns data."""
