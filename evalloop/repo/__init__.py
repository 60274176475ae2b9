"""The repository on disk and in git: parsing files, globs, revisions, caches."""
