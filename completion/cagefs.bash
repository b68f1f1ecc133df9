# bash completion for cagefs(1)                              -*- shell-script -*-
# Installed by `make install` into PREFIX/share/bash-completion/completions.
# shellcheck disable=SC2207  # (COMPREPLY=($(compgen ...)): the usual idiom; IFS is set where names may have spaces)

_cagefs_dirs ()
{
  local IFS=$'\n'
  COMPREPLY+=($(compgen -d -- "$1"))
}

_cagefs ()
{
  local cur prev cmd i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="mount umount status list destroy diff accept discard init config check audit copy doctor help"
  local presets="claude-code codex opencode gemini-cli aider goose crush"
  local profiles="strict standard relaxed"

  # The command is the first word after `cagefs`.
  cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "$commands --help" -- "$cur"))
    return
  fi

  local opts
  case $cmd in
    mount|config)
      case $prev in
        -P|--profile) COMPREPLY=($(compgen -W "$profiles" -- "$cur")); return ;;
        -W|--with) return ;;
        -m|--mode) COMPREPLY=($(compgen -W "readonly shared copy isolated" -- "$cur")); return ;;
        -n|--network) COMPREPLY=($(compgen -W "off host filtered" -- "$cur")); return ;;
        -w|--workspace-view) COMPREPLY=($(compgen -W "direct cow tracked" -- "$cur")); return ;;
        -p|--package)
          local IFS=$'\n'
          [ -n "$cur" ] || cur=/nix/store/
          COMPREPLY=($(compgen -d -- "$cur"))
          return ;;
        -c|--cache) COMPREPLY=($(compgen -W "file:// http:// https://" -- "$cur")); return ;;
        -b|--blacklist) return ;;
      esac
      if [ "$cmd" = config ]; then
        opts="--package --with --profile --mode --blacklist --scan --network --allow --nix-daemon --nix-daemon-unsandboxed --json --help"
      else
        opts="--package --with --profile --mode --cache --nix-daemon --nix-daemon-unsandboxed --blacklist --scan --network --allow --workspace-view --foreground --json --verbose --help"
      fi ;;
    diff) opts="--stat --json --verbose --help" ;;
    accept|discard) opts="--json --verbose --help" ;;
    umount|unmount|status) opts="--json --verbose" ;;
    list) opts="--json --verbose --help"
      COMPREPLY=($(compgen -W "$opts" -- "$cur"))
      return ;;
    destroy) opts="--yes --json --verbose --help" ;;
    check) opts="--blacklist --scan --json --verbose --help" ;;
    audit) opts="--follow --json --verbose" ;;
    doctor) opts="--json --verbose --help" ;;
    init)
      case $prev in
        --preset) COMPREPLY=($(compgen -W "$presets" -- "$cur")); return ;;
      esac
      opts="--preset --list-presets --json --help" ;;
    copy)
      case $prev in
        --to|--from) _cagefs_dirs "$cur"; return ;;
      esac
      opts="--to --from --closure --durable --no-uring --link --json --verbose --help"
      if [[ $cur != -* ]]; then
        local IFS=$'\n'
        [ -n "$cur" ] || cur=/nix/store/
        COMPREPLY=($(compgen -d -- "$cur"))
        return
      fi ;;
    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    _cagefs_dirs "$cur"
  fi
}

complete -o filenames -F _cagefs cagefs
