"""The one error an importer raises for a file it will not load."""


class ImportRefused(Exception):
    """A file (or mapping) that cannot be imported; the message is one line naming the file."""
