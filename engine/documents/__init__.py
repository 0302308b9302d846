"""Documents (issue 8): applicants' uploads checked by content (magic numbers, not the extension) and kept under
generated ids with their SHA-256 and retention; permits and notices rendered as PDFs (reportlab's built-in
STSong-Light CID font, no system fonts) carrying a verification code that `/verify/<code>` checks.

`filetypes` and `names` are pure checks; `store` writes and reads the bytes; `uploads` and `access` are the
services the pages call; `pdf`, `codes` and `publisher` produce the official documents inside the worker's
transaction (engine/bureau/deps.py calls the publisher when a permit or notice is created).
"""
