"""The web operator console (`tessera ground web`): accounts, the live hub, the HTTP app."""
