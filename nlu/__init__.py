"""Natural-language understanding: the Rasa project (this folder, run by Rasa
in its own virtualenv) plus the application-side client, data builder and
trainer (plain Python modules used by the app)."""
