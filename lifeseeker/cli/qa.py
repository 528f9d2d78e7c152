"""``lifeseeker ask "question" [filters] [--json]`` and ``lifeseeker fetch-vqa``: question answering. Parses
arguments and delegates to ``engine/qa.py``.
"""

from __future__ import annotations

import json

import click

from ..errors import LifeseekerError, ModelUnavailable
from .options import check_search_args, echo, filter_options, get_settings, search_service_for
from .remote import get_json, print_answer, query_params


def build_qa(settings, echo=None):
    """A QaService from the settings: store, encoders (CLIP optional) and the VQA model when it can load (cache or
    directory only). ``echo`` receives the warnings. Raises StoreError / ModelUnavailable (text model)."""
    from ..engine.qa import QaService
    from ..models.vqa import load_vqa, vqa_disabled

    service = search_service_for(settings, echo)
    vqa = error = None
    if vqa_disabled(settings.vqa_model):
        error = "VQA is turned off (LIFESEEKER_VQA_MODEL is empty or 'none')"
    else:
        try:
            vqa = load_vqa(settings.vqa_model, device=settings.device)
        except ModelUnavailable as exc:
            error = str(exc)
    return QaService(service, vqa=vqa, vqa_error=error)


@click.command("ask")
@click.argument("question")
@filter_options
@click.option("--weights", default=None, help="W_IAT,W_TAT (default 0.7,0.3).")
@click.option("--vqa-model", default=None, help="BLIP VQA model: Hugging Face id or directory (default "
              "$LIFESEEKER_VQA_MODEL or Salesforce/blip-vqa-base); 'none' turns VQA off.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and its evidence as JSON.")
@click.option("--server", default=None, metavar="URL", help="Ask a running `lifeseeker serve` (default "
              "$LIFESEEKER_SERVER; none: answer in this process, loading the models).")
@click.pass_context
def ask_cmd(ctx, question, weights, vqa_model, as_json, server, **params):
    """Answer QUESTION from the lifelog: when, where, how many times, how long (metadata), or what was seen
    (VQA over the top images). Prints the answer, its confidence and type, and the evidence."""
    from dataclasses import replace

    settings = get_settings(ctx)
    if vqa_model is not None:
        settings = replace(settings, vqa_model=vqa_model)
    filters, w = check_search_args(question, params, weights, settings.weights)  # before any model loads
    server = server or settings.server
    if server:
        if vqa_model is not None:
            raise click.UsageError("--vqa-model cannot be used with --server: the server answers with its own "
                                   "VQA model (set LIFESEEKER_VQA_MODEL where it runs)")
        answer = get_json(server, "/api/answer", query_params(question, params, weights=weights), settings)
    else:
        try:
            answer = build_qa(settings).answer(question, filters, w).to_dict()
        except LifeseekerError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        echo(json.dumps(answer, indent=1, ensure_ascii=False))
        return
    print_answer(answer)


@click.command("fetch-vqa")
@click.option("--vqa-model", default=None, help="Hugging Face id (default $LIFESEEKER_VQA_MODEL or "
              "Salesforce/blip-vqa-base).")
@click.pass_context
def fetch_vqa_cmd(ctx, vqa_model):
    """Download the VQA model into the Hugging Face cache once (needs internet); queries then load it offline."""
    from ..models.vqa import load_vqa

    settings = get_settings(ctx)
    name = vqa_model or settings.vqa_model
    try:
        model = load_vqa(name, device="cpu", allow_download=True)
    except ModelUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    echo(f"VQA model {model.name} is ready (cached).")


commands = [ask_cmd, fetch_vqa_cmd]
