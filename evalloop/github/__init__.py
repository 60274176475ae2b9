"""GitHub: the REST API client, Actions runner files, annotations, and publishing a report to a pull request."""
