# quotaline for bash: Claude plan usage at the start of the prompt.
# Add to ~/.bashrc:   eval "$(quotaline init bash)"
#
# Zero forks per prompt: the hook reads the pre-rendered line that every refresh writes
# (segment.bash in quotaline's cache dir) with the `read` builtin and takes the time from
# `printf '%(%s)T'`. When the file says a refresh is due, it starts `quotaline refresh` in the
# background, detached and silent; the new line shows at the next prompt. The line is also
# in $__quotaline_segment (escaped for PS1) for custom prompts.

__quotaline_segment=''
# What the hook put in front of PS1 last time survives the snippet being sourced again
# (`source ~/.bashrc`), so the next prompt replaces it instead of adding a second line.
__quotaline_shown=${__quotaline_shown-}
__quotaline_next_spawn=0
__quotaline_next_render=0

__quotaline_prompt() {
  local file=${QUOTALINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quotaline}/segment.bash
  local conf=${QUOTALINE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/quotaline/config.toml}
  local due=0 line='' now
  printf -v now '%(%s)T' -1
  # An edited config.toml shows at this prompt: one synchronous `quotaline refresh
  # --render-only` (no fetch, a few milliseconds) renders the line again. A fork only after
  # an edit, and at most every 5 s should the render fail.
  if [[ $conf -nt $file ]] && ((now >= __quotaline_next_render)); then
    __quotaline_next_render=$((now + 5))
    quotaline refresh --render-only </dev/null >/dev/null 2>&1
  fi
  # Only a regular file: a FIFO put in its place must not block the prompt.
  if [[ -f $file && -r $file ]]; then
    { IFS= read -r due; IFS= read -r line; } <"$file" 2>/dev/null
  fi
  # The file is quotaline's own, but an arithmetic context must never see anything else.
  [[ $due =~ ^[0-9]+$ ]] || due=0
  __quotaline_segment=$line
  # At most one background refresh a minute from this shell, and only when the line is due.
  # The subshell keeps the job out of this shell's job table: no "[1] 1234", no "Done".
  if ((now >= due && now >= __quotaline_next_spawn)); then
    __quotaline_next_spawn=$((now + 60))
    (quotaline refresh </dev/null >/dev/null 2>&1 &)
  fi
  # Replace what this hook put in front of PS1 last time, keeping the rest. The line is
  # escaped for PS1's decoding and expansion, so it shows literally.
  PS1=${PS1#"$__quotaline_shown"}
  __quotaline_shown=${line:+$line }
  PS1=$__quotaline_shown$PS1
}

case ";${PROMPT_COMMAND:-};" in
  *";__quotaline_prompt;"*) ;;
  *) PROMPT_COMMAND="__quotaline_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
