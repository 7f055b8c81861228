"""`python -m ioe` and the `ioe` command: the CLI, with SIGTERM a clean stop from the start."""

from ioe.starting import stop_cleanly_while_starting


def main() -> None:
    """Run the `ioe` command line."""
    stop_cleanly_while_starting()  # before the imports, the longest part of a start
    from ioe.cli import app

    app()


if __name__ == "__main__":
    main()
