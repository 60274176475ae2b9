"""GitHub: the REST API client, Actions runner files, annotations."""
