"""`python -m vitrieve`: the `vitrieve` command."""

from vitrieve.ui.cli.main import main

if __name__ == "__main__":
    main()
