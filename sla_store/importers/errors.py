"""The one error an importer raises for a file it will not load."""


class ImportRefused(Exception):
    """A file (or mapping) that cannot be imported; the message is one line naming the file."""


class FileUnreadable(ImportRefused):
    """A file no format can read (wrong encoding, binary): said as it is, not as "missing columns"."""
