# quotaline for zsh: Claude plan usage on the right of the prompt.
# Add to ~/.zshrc:   eval "$(quotaline init zsh)"
#
# Zero forks per prompt: the hook stats the pre-rendered line that every refresh writes
# (segment.zsh in quotaline's cache dir) and re-reads it only when its mtime changed. When the
# file says a refresh is due, it starts `quotaline refresh` in the background, detached and
# silent; the new line shows at the next prompt. The line is also in $__quotaline_segment
# (zsh prompt markup) for custom prompts.

zmodload zsh/datetime 2>/dev/null
zmodload -F zsh/stat b:zstat 2>/dev/null

typeset -g __quotaline_segment='' __quotaline_mtime=''
# What the hook put in front of RPROMPT last time survives the snippet being sourced again
# (`source ~/.zshrc`), so the next prompt replaces it instead of keeping the old line.
typeset -g __quotaline_shown=${__quotaline_shown-}
typeset -gi __quotaline_due=0 __quotaline_next_spawn=0 __quotaline_next_render=0

__quotaline_precmd() {
  # Read before `emulate` resets it: with prompt_subst a prompt must not carry the text
  # itself (zsh would expand it again), only a reference to it.
  local subst=0
  [[ -o promptsubst ]] && subst=1
  emulate -L zsh
  local file=${QUOTALINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quotaline}/segment.zsh
  local conf=${QUOTALINE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/quotaline/config.toml}
  local -a st
  local due line
  # An edited config.toml shows at this prompt: one synchronous `quotaline refresh
  # --render-only` (no fetch, a few milliseconds) renders the line again. A fork only after
  # an edit, and at most every 5 s should the render fail.
  if [[ $conf -nt $file ]] && (( EPOCHSECONDS >= __quotaline_next_render )); then
    __quotaline_next_render=$(( EPOCHSECONDS + 5 ))
    quotaline refresh --render-only </dev/null >/dev/null 2>&1
    __quotaline_mtime=''
  fi
  if zstat -A st -- "$file" 2>/dev/null; then
    # Inode and mtime: every write replaces the file (new inode), and mtime has only
    # seconds. Once the line is due it is read again anyway, before starting a refresh.
    if [[ "$st[2] $st[10]" != "$__quotaline_mtime" ]] || (( EPOCHSECONDS >= __quotaline_due )); then
      __quotaline_mtime="$st[2] $st[10]"
      # Only a regular file: a FIFO put in its place must not block the prompt.
      [[ -f $file ]] && { IFS= read -r due; IFS= read -r line; } <"$file" 2>/dev/null
      [[ $due == <-> ]] || due=0
      __quotaline_due=$due
      __quotaline_segment=$line
    fi
  else
    __quotaline_mtime='' __quotaline_segment='' __quotaline_due=0
  fi
  # At most one background refresh a minute from this shell, and only when the line is due.
  if (( EPOCHSECONDS >= __quotaline_due && EPOCHSECONDS >= __quotaline_next_spawn )); then
    __quotaline_next_spawn=$(( EPOCHSECONDS + 60 ))
    quotaline refresh </dev/null >/dev/null 2>&1 &!
  fi
  # Replace what this hook put in front of RPROMPT last time, keeping the rest.
  RPROMPT=${RPROMPT#"$__quotaline_shown"}
  __quotaline_shown=''
  if [[ -n $__quotaline_segment ]]; then
    if (( subst )); then
      __quotaline_shown='${__quotaline_segment}'
    else
      __quotaline_shown=$__quotaline_segment
    fi
    [[ -n $RPROMPT ]] && __quotaline_shown+=' '
  fi
  RPROMPT=$__quotaline_shown$RPROMPT
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd __quotaline_precmd
