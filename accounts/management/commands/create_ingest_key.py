from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import IngestKey


class Command(BaseCommand):
    help = "Create an ingest key for OTLP clients and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name that says who uses the key, e.g. 'prod-collector'.")

    def handle(self, *args: object, **options: str) -> None:
        if IngestKey.objects.filter(name=options["name"]).exists():
            raise CommandError(f"an ingest key named {options['name']!r} exists already")
        _, raw_key = IngestKey.issue(options["name"])
        self.stdout.write(raw_key)
