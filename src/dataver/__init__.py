"""dataver: data version control, byte-for-byte compatible with DVC 3.x."""

__version__ = "0.1.0"

__all__ = ["__version__", "Repo"]


def __getattr__(name):
    # Lazy so that `import dataver` (and the CLI's --version) stays fast.
    if name == "Repo":
        from dataver.repo import Repo

        return Repo
    raise AttributeError(name)
