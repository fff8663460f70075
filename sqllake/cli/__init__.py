"""The command line: script runner, output formats, dot commands and the REPL.

Only :mod:`sqllake.cli.repl` imports prompt_toolkit; everything else here is plain
Python over :class:`sqllake.session.Session`, so scripts and tests need no terminal.
"""
