"""What a user types -> validated values and requests: the ONLY parser, for the CLI and the app.

Both faces hand the text a user typed (an argparse value, an Input widget's value) to these
functions and get back plain values or frozen core requests, or an :class:`~calterm.errors.InputError`
whose message names the field and what is wrong, in one line. Neither face parses on its own.

A package rather than one module: one shared module of value parsers (:mod:`.values`) and one
module per capability's requests, so each stays small and a capability's fields are found by its name.
It imports the core (requests are core dataclasses), never a face.
"""
