# quotaline for fish: Claude plan usage in the right prompt.
# Add to ~/.config/fish/config.fish:   quotaline init fish | source
#
# Zero forks per prompt: the right prompt checks the mtime of the pre-rendered line that
# every refresh writes (segment.fish in quotaline's cache dir) with the `path` builtin and
# re-reads it only when it changed. When the file says a refresh is due, it starts
# `quotaline refresh` in the background, detached and silent; the new line shows at the next
# prompt. A right prompt you already had is kept, after the line.

set -g __quotaline_segment ''
set -g __quotaline_mtime ''
set -g __quotaline_due 0
set -g __quotaline_next_spawn 0
set -g __quotaline_next_render 0

# A right prompt that is not this snippet's own is yours: it is kept, and shown after the
# line. Sourced again (`source ~/.config/fish/config.fish`), the snippet finds its own
# function there and keeps the copy it made, so it never calls itself; a config.fish that
# defines your right prompt again is copied again.
if functions -q fish_right_prompt
    set -l details (functions --details --verbose fish_right_prompt)
    if test "$details[5]" != quotaline
        functions -e __quotaline_user_right_prompt
        functions -c fish_right_prompt __quotaline_user_right_prompt
    end
end

function __quotaline_update
    set -l dir $HOME/.cache/quotaline
    test -n "$XDG_CACHE_HOME"; and set dir $XDG_CACHE_HOME/quotaline
    test -n "$QUOTALINE_CACHE_DIR"; and set dir $QUOTALINE_CACHE_DIR
    set -l file $dir/segment.fish
    set -l conf $HOME/.config/quotaline/config.toml
    test -n "$XDG_CONFIG_HOME"; and set conf $XDG_CONFIG_HOME/quotaline/config.toml
    test -n "$QUOTALINE_CONFIG"; and set conf $QUOTALINE_CONFIG
    set -l mtime (path mtime -- $file 2>/dev/null)
    # fish has no clock builtin: now is the mtime of / plus its age, both from `path`.
    set -l now (math (path mtime /) + (path mtime --relative /))
    # An edited config.toml shows at this prompt: one synchronous `quotaline refresh
    # --render-only` (no fetch, a few milliseconds) renders the line again. A fork only
    # after an edit, and at most every 5 s should the render fail.
    set -l conf_mtime (path mtime -- $conf 2>/dev/null)
    if test -n "$conf_mtime" -a $now -ge $__quotaline_next_render
        if test -z "$mtime"; or test $conf_mtime -gt $mtime
            set -g __quotaline_next_render (math $now + 5)
            command quotaline refresh --render-only </dev/null >/dev/null 2>&1
            set mtime (path mtime -- $file 2>/dev/null)
            set -g __quotaline_mtime ''
        end
    end
    # mtime has only seconds: once the line is due it is read again anyway, before
    # starting a refresh.
    if test "$mtime" != "$__quotaline_mtime" -o $now -ge $__quotaline_due
        set -g __quotaline_mtime $mtime
        set -l due 0
        set -l line ''
        # Only a regular file: a FIFO put in its place must not block the prompt.
        test -n "$mtime"; and test -f $file; and read -L due line <$file 2>/dev/null
        string match -qr '^[0-9]+$' -- $due; or set due 0
        set -g __quotaline_due $due
        set -g __quotaline_segment $line
    end
    # At most one background refresh a minute from this shell, and only when the line is due.
    if test $now -ge $__quotaline_due -a $now -ge $__quotaline_next_spawn
        set -g __quotaline_next_spawn (math $now + 60)
        command quotaline refresh </dev/null >/dev/null 2>&1 &
        disown $last_pid 2>/dev/null
    end
end

function fish_right_prompt --description quotaline
    __quotaline_update
    printf '%s' $__quotaline_segment
    if functions -q __quotaline_user_right_prompt
        test -n "$__quotaline_segment"; and printf ' '
        __quotaline_user_right_prompt
    end
end
