"""One module per CLI command (NAME, HELP, EXAMPLE, add_arguments, run)."""
