"""The commands' options, by what they are for; `evalloop.main` is the entry point that loads them."""
