"""The standalone ``gamify`` command: the shared commands under one group whose options say
where the database and campaigns are, and ``gamify demo``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from gamify.cli.commands import FLASK_COMMANDS, Standalone
from gamify.demo import create_demo_app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gamify")
@click.option(
    "--database-url",
    envvar="GAMIFY_DATABASE_URL",
    help="SQLAlchemy URL of the gamify database [env GAMIFY_DATABASE_URL].",
)
@click.option(
    "--campaigns",
    envvar="GAMIFY_CAMPAIGNS",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of campaign files [env GAMIFY_CAMPAIGNS].",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, campaigns: Path | None) -> None:
    """gamify: spin wheels and scratch cards with provably fair, auditable draws."""
    ctx.obj = Standalone(database_url, campaigns)


for _command in FLASK_COMMANDS:
    cli.add_command(_command)


# -- the demo store: a standalone app of its own, so not one of FLASK_COMMANDS ---------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--campaigns",
    "campaigns",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of campaign files to copy [the repository's examples/campaigns].",
)
def demo(host: str, port: int, campaigns: Path | None) -> None:
    """Run a sample store with both games on SQLite, at http://127.0.0.1:5000.

    Data lives in ./instance/gamify-demo; the campaigns are copied there with their dates
    moved so that they are running today.
    """
    try:
        app = create_demo_app(campaigns=campaigns)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"gamify demo store: http://{shown}:{port}  (data in {app.instance_path})")
    click.echo("Press Ctrl+C to stop.")
    app.run(host=host, port=port, debug=False, use_reloader=False)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="gamify")
