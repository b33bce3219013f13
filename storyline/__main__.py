"""The `storyline` command (and `python -m storyline`): a stop signal is caught before anything
else imports, so a Ctrl-C in the first tenth of a second is one line too; then the CLI runs."""


def main() -> None:
    from .stop import catch_early

    catch_early()
    from .cli import main as cli

    cli()


if __name__ == "__main__":
    main()
