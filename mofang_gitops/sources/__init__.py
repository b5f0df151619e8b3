"""Where specs come from: file trees (a directory or a git revision), YAML reading, spec loading.

``trees`` defines the ``FileTree`` port, ``git`` implements it over revisions and remotes (the only
importer of gitpython), ``loading`` turns a tree into typed, located specs.
"""
