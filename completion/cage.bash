# bash completion for cage(1)                                -*- shell-script -*-
# Installed by `make install` into PREFIX/share/bash-completion/completions.
# shellcheck disable=SC2207  # (COMPREPLY=($(compgen ...)): the usual idiom; IFS is set where names may have spaces)

_cage ()
{
  local cur prev i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}

  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "exec shell run --help" -- "$cur"))
    return
  fi
  local sub=${COMP_WORDS[1]}
  case $sub in exec|shell|run) ;; *) return ;; esac

  # After `--`: the command in the cage and its arguments.
  for ((i = 2; i < COMP_CWORD; i++)); do
    if [ "${COMP_WORDS[i]}" = -- ]; then
      if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
        COMPREPLY=($(compgen -c -- "$cur" | LC_ALL=C sort -u))
      else
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
      fi
      return
    fi
  done

  case $prev in
    --seccomp) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
    --pass-env) COMPREPLY=($(compgen -v -- "$cur")); return ;;
    --profile) COMPREPLY=($(compgen -W "strict standard relaxed" -- "$cur")); return ;;
    --mode) [ "$sub" = run ] && COMPREPLY=($(compgen -W "readonly shared copy isolated" -- "$cur")); return ;;
    --network) [ "$sub" = run ] && COMPREPLY=($(compgen -W "off host filtered" -- "$cur")); return ;;
    --workspace-view) [ "$sub" = run ] && COMPREPLY=($(compgen -W "direct cow tracked" -- "$cur")); return ;;
    --env|--memory|--cpus|--pids|--nofile|--with|--package|--blacklist|--cache) return ;;
  esac
  if [[ $cur == -* ]]; then
    local mount_opts=
    [ "$sub" = run ] && mount_opts="--package --with --mode --blacklist --scan --network --allow --cache --nix-daemon --nix-daemon-unsandboxed --workspace-view"
    COMPREPLY=($(compgen -W "-- --json --verbose --dry-run --env --pass-env --memory --cpus
      --pids --nofile --allow-ptrace --allow-userns --seccomp=off --seccomp=on --profile --help
      $mount_opts" -- "$cur"))
  else
    local IFS=$'\n'
    COMPREPLY=($(compgen -d -- "$cur"))
  fi
}

complete -o filenames -F _cage cage
