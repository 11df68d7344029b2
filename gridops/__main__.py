"""`python -m gridops …` runs the same command as `gridops …`."""

from gridops.cli import main

main()
