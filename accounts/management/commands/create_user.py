import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import Role
from accounts.users import create_user_with_role, generate_password


class Command(BaseCommand):
    help = (
        "Create a user in a role. Prints a generated password once, or reads the password from stdin "
        "with --password-stdin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of stdin."
        )

    def handle(self, *args: object, **options: str | bool) -> None:
        generated = not options["password_stdin"]
        password = generate_password() if generated else sys.stdin.readline().rstrip("\r\n")
        try:
            create_user_with_role(str(options["username"]), Role(str(options["role"])), password, str(options["email"]))
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if generated:
            self.stdout.write(f"Password for {options['username']}: {password}  (shown once)")
        else:
            self.stdout.write(f"User {options['username']} created as {options['role']}.")
