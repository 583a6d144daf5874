# quotaline completions for bash: source this file, or install it as
# /usr/share/bash-completion/completions/quotaline
_quotaline() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=''
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    words='segment refresh json metrics status accounts check events init doctor native-host statusline history config verify completions --help'
  else
    case "$prev" in
      --target) mapfile -t COMPREPLY < <(compgen -W 'plain ansi zsh bash fish tmux polybar waybar starship xbar i3blocks' -- "$cur"); return ;;
      --window) mapfile -t COMPREPLY < <(compgen -W '5h 7d opus sonnet' -- "$cur"); return ;;
      --browser) mapfile -t COMPREPLY < <(compgen -W 'chrome chromium brave edge vivaldi firefox' -- "$cur"); return ;;
      --format|--org|--warn|--crit|--max|--eta|--max-spend|--max-age|--provider|--account|--since) return ;;
    esac
    case "${COMP_WORDS[1]}" in
      segment) words='--format --org --wait --target --warn --crit --help' ;;
      refresh) words='--force --render-only --help' ;;
      json) words='--org --help' ;;
      metrics) words='--help' ;;
      status) words='--help' ;;
      accounts) words='--help' ;;
      check) words='--max --eta --max-spend --fail-open --max-age --provider --account --window --org --help' ;;
      events) words='--since --json --help' ;;
      init) words='--browser zsh bash fish tmux starship waybar waybar-css polybar i3blocks xbar swiftbar argos claude-code node-exporter native-host --help' ;;
      doctor) words='--help' ;;
      native-host) words='--help' ;;
      statusline) words='--format --help' ;;
      history) words='--window --since --json --org --account --help' ;;
      config) words='--default --help' ;;
      verify) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); words='--org --help' ;;
      completions) words='zsh bash fish --help' ;;
    esac
  fi
  mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _quotaline quotaline
