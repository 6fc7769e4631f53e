"""One module per `tessera` subcommand, each with `register(subparsers)`."""
