"""`dataver completion`: bash and zsh tab-completion scripts, generated from the argparse parser.

The script is data (commands, their subcommands, option strings, the choices of options that
have them) plus a small completion function; it is made from the same parser `dataver --help`
shows, so it cannot drift from the commands. Hidden commands are left out, except the joined
ones (``card diff``, ``data status``, ...) whose first word is a visible command: they complete
as that command's subcommands, the way they are typed.
"""
from __future__ import annotations

import re

from dataver.cli.main import common

SHELLS = ("bash", "zsh")


def register(sub) -> None:
    p = sub.add_parser("completion", help="print a shell tab-completion script",
                       description="Print a tab-completion script for bash or zsh. bash: "
                                   "`dataver completion > ~/.local/share/bash-completion/"
                                   "completions/dataver`; zsh: `dataver completion -s zsh > "
                                   "~/.zfunc/_dataver` with ~/.zfunc in $fpath.")
    common(p)
    p.add_argument("-s", "--shell", choices=SHELLS, default="bash",
                   help="shell syntax for completions (default: bash)")
    p.set_defaults(func=run_completion)


def run_completion(args) -> int:
    import sys

    sys.stdout.write(script(args.shell))
    return 0


# --- the model: what can follow what --------------------------------------------------------------
def _name(*words: str) -> str:
    """A shell variable name part for a command path (``cache dir`` -> ``cache_dir``)."""
    return re.sub(r"[^A-Za-z0-9]", "_", "_".join(words))


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _options(parser) -> tuple[list[str], dict[str, list[str]]]:
    """Option strings of ``parser``, and ``{option: choices}`` for those with choices."""
    import argparse

    options, choices = [], {}
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        options += action.option_strings
        if action.choices and action.nargs != 0:
            for option in action.option_strings:
                choices[option] = [str(c) for c in action.choices]
    return options, choices


def _helps(action) -> dict[str, str]:
    """name -> help of each subcommand, aliases sharing their command's help."""
    by_name = {c.dest: c.help or "" for c in action._choices_actions}
    by_parser = {id(action.choices[n]): h for n, h in by_name.items() if n in action.choices}
    return {name: by_name.get(name) or by_parser.get(id(parser), "")
            for name, parser in action.choices.items()}


def model() -> dict:
    """``{"commands": [(name, help)], "nodes": {key: {"options", "choices", "subs"}}}`` where a
    key is the command path joined by ``_`` (``""`` is the top level)."""
    from dataver.cli.main import HIDDEN_COMMANDS, _join_subcommands, build_parser

    parser = build_parser([])
    top = _subparsers(parser)
    helps = _helps(top)
    nodes: dict[str, dict] = {}
    visible = list(top.choices)

    def add(key: str, sub_parser, subs: list[tuple[str, str]]) -> None:
        options, choices = _options(sub_parser)
        nodes[key] = {"options": options, "choices": choices, "subs": subs}

    add("", parser, [(c, helps.get(c, "")) for c in visible])
    for command in visible:
        command_parser = top.choices[command]
        action = _subparsers(command_parser)
        subs = list(_helps(action).items()) if action else []
        if action:
            for sub_name, sub_parser in action.choices.items():
                add(_name(command, sub_name), sub_parser, [])
        add(_name(command), command_parser, subs)
    for hidden in HIDDEN_COMMANDS:  # joined subcommands: `card diff` is the command card-diff
        first, _, rest = hidden.partition("-")
        if not rest or _join_subcommands([first, rest]) != [hidden]:
            continue  # a command only programs run (git-hook)
        joined = _subparsers(build_parser([hidden])).choices[hidden]
        if _name(first) not in nodes:  # `data status` with no `data` command of its own
            nodes[""]["subs"].append((first, ""))
            add(_name(first), joined, [])
            nodes[_name(first)]["options"] = ["-h", "--help"]
        nodes[_name(first)]["subs"].append((rest, joined.description or ""))
        add(_name(first, rest), joined, [])
    return {"commands": nodes[""]["subs"], "nodes": nodes}


def script(shell: str) -> str:
    return _bash(model()) if shell == "bash" else _zsh(model())


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _data_lines(data: dict, prefix: str) -> list[str]:
    lines = []
    for key, node in data["nodes"].items():
        lines.append(f"{prefix}_opts_{key}=({' '.join(node['options'])})")
        if node["subs"]:
            lines.append(f"{prefix}_subs_{key}=({' '.join(s for s, _ in node['subs'])})")
        for option, values in node["choices"].items():
            lines.append(f"{prefix}_choices_{key}_{_name(option)}=({' '.join(map(_quote, values))})")
    return lines


# The walk over the words typed so far, shared by both shells: `key` ends as the command path
# (`remote_add`), `prev` is the word before the cursor.
_WALK = """\
  local key="" i w subs
  for ((i = 1; i < cword; i++)); do
    w=${words[$i]}
    if [[ $w == --cd ]]; then ((i++)); continue; fi
    [[ $w == -* ]] && continue
    subs="_dataver_subs_${key}[*]"
    if [[ " ${!subs} " == *" $w "* ]]; then key=${key:+${key}_}${w//[^A-Za-z0-9]/_}; fi
  done
"""


def _bash(data: dict) -> str:
    body = _WALK
    return "\n".join([
        "# bash completion for dataver (generated by `dataver completion`)",
        "# Install: dataver completion > ~/.local/share/bash-completion/completions/dataver",
        *_data_lines(data, "_dataver"),
        "",
        "_dataver() {",
        "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
        "  local cword=$COMP_CWORD",
        "  local -a words=(\"${COMP_WORDS[@]}\")",
        body.rstrip("\n"),
        "  local choices=\"_dataver_choices_${key}_${prev//[^A-Za-z0-9]/_}[*]\"",
        "  local opts=\"_dataver_opts_${key}[*]\" subs=\"_dataver_subs_${key}[*]\"",
        "  if [[ $prev == -* && -n ${!choices} ]]; then",
        "    COMPREPLY=($(compgen -W \"${!choices}\" -- \"$cur\"))",
        "  elif [[ $prev == --cd ]]; then",
        "    COMPREPLY=($(compgen -d -- \"$cur\"))",
        "  elif [[ $cur == -* ]]; then",
        "    COMPREPLY=($(compgen -W \"${!opts}\" -- \"$cur\"))",
        "  elif [[ -n ${!subs} ]]; then",
        "    COMPREPLY=($(compgen -W \"${!subs}\" -- \"$cur\"))",
        "  else",
        "    COMPREPLY=($(compgen -f -- \"$cur\"))",
        "  fi",
        "}",
        "complete -o filenames -F _dataver dataver",
        "",
    ])


def _zsh(data: dict) -> str:
    described = []
    for key, node in data["nodes"].items():
        if node["subs"]:
            items = " ".join(_quote(_escape_colon(s) + ":" + _first_line(h))
                             for s, h in node["subs"])
            described.append(f"_dataver_described_{key}=({items})")
    walk = _WALK.replace("${words[$i]}", "${words[$((i + 1))]}").replace(
        "${!subs}", "${(P)subs}").replace("${key}[*]", "${key}")
    return "\n".join([
        "#compdef dataver",
        "# zsh completion for dataver (generated by `dataver completion -s zsh`)",
        "# Install: dataver completion -s zsh > ~/.zfunc/_dataver, with ~/.zfunc in $fpath",
        *_data_lines(data, "_dataver"),
        *described,
        "",
        "_dataver() {",
        "  local cur=${words[CURRENT]} prev=${words[CURRENT-1]}",
        "  local cword=$((CURRENT - 1))",
        walk.rstrip("\n"),
        "  local choices=\"_dataver_choices_${key}_${prev//[^A-Za-z0-9]/_}\"",
        "  local opts=\"_dataver_opts_${key}\" subs=\"_dataver_subs_${key}\"",
        "  local described=\"_dataver_described_${key}\"",
        "  if [[ $prev == -* && -n ${(P)choices} ]]; then",
        "    compadd -- ${(P)choices}",
        "  elif [[ $prev == --cd ]]; then",
        "    _files -/",
        "  elif [[ $cur == -* ]]; then",
        "    compadd -- ${(P)opts}",
        "  elif [[ -n ${(P)subs} ]]; then",
        "    _describe command $described",
        "  else",
        "    _files",
        "  fi",
        "}",
        "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then",
        "  _dataver \"$@\"",
        "else",
        "  compdef _dataver dataver",
        "fi",
        "",
    ])


def _escape_colon(text: str) -> str:
    return text.replace(":", "\\:")


def _first_line(text: str) -> str:
    return " ".join(text.split())[:80]
