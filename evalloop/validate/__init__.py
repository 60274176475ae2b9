"""The checks of `evalloop validate`."""
