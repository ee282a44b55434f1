"""Domain exceptions. Only the edges (CLI, UI) turn them into user messages."""


class WhitepaperError(Exception):
    """Base class: the message says what is wrong and what to do."""


class IngestError(WhitepaperError):
    """A file cannot be ingested (missing, empty, not a PDF, encrypted, no text...)."""


class IndexNotFound(WhitepaperError):
    """No index exists under the configured home."""


class IndexOutdated(WhitepaperError):
    """The index was built by an older version that did not store what is now needed."""


class EmbeddingMismatch(WhitepaperError):
    """The index was built with another embedding model than the one configured."""


class ModelUnavailable(WhitepaperError):
    """A model or an endpoint cannot be loaded or reached."""


class DocumentNotFound(WhitepaperError):
    """A document id given by the user is not in the index."""


class IndexBusy(WhitepaperError):
    """Another writer holds the index and the caller asked not to wait."""


class IndexDamaged(WhitepaperError):
    """A file of the index cannot be read: the message names it and says to run the doctor."""
