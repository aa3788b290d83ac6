"""``cairn models generate-dockerfile`` and ``cairn models build-docker``: a model's scoring
server as a container image (see :mod:`cairn.serving.container`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from cairn.cli import output
from cairn.errors import CairnError

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    """A CairnError becomes a one-line click error even outside the ``models`` group."""
    try:
        yield
    except CairnError as exc:
        raise click.ClickException(exc.message) from None


def _image_options(func: F) -> F:
    func = click.option(
        "--cairn-wheel",
        type=click.Path(exists=True, dir_okay=False),
        help="A cairn wheel to install in the image. [default: a wheel of the running cairn]",
    )(func)
    func = click.option(
        "--port",
        type=click.IntRange(1, 65535),
        default=8080,
        show_default=True,
        help="The port the server listens on inside the container (EXPOSE and HEALTHCHECK).",
    )(func)
    func = click.option(
        "--base-image",
        metavar="IMAGE",
        help="The image to build on. [default: python:3.X-slim for the model's Python version]",
    )(func)
    return click.option(
        "-m",
        "--model-uri",
        required=True,
        help="The model: a path, runs:/, models:/<name>/<version>, models:/<name>@<alias> "
        "(resolved now; the image keeps that version).",
    )(func)


def _report(context: Any) -> None:
    source = context.source
    if source.version is not None:
        output.note(
            f"{source.uri} resolved to version {source.version} of "
            f"{source.name!r} (recorded in the image labels)."
        )
    output.note(f"Base image: {context.base_image}; cairn wheel: {context.wheel.name}.")


@click.command("generate-dockerfile")
@_image_options
@click.option(
    "-d",
    "--output-directory",
    "output_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where to write the build context (Dockerfile, model/, requirements.txt, dist/).",
)
@click.option(
    "--force", is_flag=True, help="Replace the build context in a non-empty output directory."
)
def generate_dockerfile(
    model_uri: str,
    base_image: str | None,
    port: int,
    cairn_wheel: str | None,
    output_dir: str,
    force: bool,
) -> None:
    """Write a Docker build context that serves MODEL_URI: build it with `docker build`.

    The image installs the model's captured requirements and cairn, copies the model to
    /opt/ml/model and runs `cairn models serve` as a non-root user on --port.
    """
    from cairn.serving.container import write_build_context

    with _clear_errors():
        context = write_build_context(
            model_uri,
            output_dir,
            base_image=base_image,
            port=port,
            force=force,
            cairn_wheel=cairn_wheel,
            log=output.note,
        )
    _report(context)
    output.echo(f"Wrote {context.dockerfile}")
    output.note(f"Build it with: docker build -t IMAGE {context.path}")


@click.command("build-docker")
@_image_options
@click.option(
    "-n",
    "--name",
    "image_name",
    required=True,
    help="The image name and optional tag (e.g. churn:3, registry.example.com/team/churn).",
)
def build_docker(
    model_uri: str, base_image: str | None, port: int, cairn_wheel: str | None, image_name: str
) -> None:
    """Build a Docker image that serves MODEL_URI (needs a running Docker engine).

    Without an engine, write the build context with generate-dockerfile and build it
    elsewhere.
    """
    from cairn.serving.container import build_image

    with _clear_errors():
        context = build_image(
            model_uri,
            image_name,
            base_image=base_image,
            port=port,
            cairn_wheel=cairn_wheel,
            log=output.note,
        )
    _report(context)
    output.echo(f"Built image {image_name}")
    output.note(f"Run it with: docker run --rm -p {port}:{port} {image_name}")


COMMANDS = [generate_dockerfile, build_docker]
