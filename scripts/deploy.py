"""Deploy and wire the Plinth suite: `ape run deploy [--params config/local.toml] --network ...`.

Idempotent: a second run against the same chain sends nothing; changed mutable parameters are
applied with their setters. Addresses go to deployments/<network>.json."""

import click
from ape import networks
from ape.cli import ConnectedProviderCommand, account_option

from scripts._deploy import ROOT, ConfigError, deploy_suite, load_params


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--params",
    "params_path",
    default=str(ROOT / "config" / "local.toml"),
    show_default=True,
    help="deployment parameter file (TOML)",
)
@click.option(
    "--replace",
    is_flag=True,
    help="deploy a new suite even though deployments/<network>.json records one that is not "
    "on this chain (the old record is kept as a .bak)",
)
@account_option()
def cli(params_path, replace, account):
    """Deploy the suite (or finish / verify an earlier deployment)."""
    try:
        params = load_params(params_path)
        network = networks.provider.network
        click.echo(
            f"Deploying Plinth to {network.ecosystem.name}:{network.name} "
            f"as {account.address} with {params_path}"
        )
        deploy_suite(account, params, replace=replace, log=click.echo)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
